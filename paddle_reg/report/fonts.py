"""The CJK font of the reports: Noto Sans SC from a PyPI package, subset to the text of a report and embedded.

No system font is assumed: the HTML carries an @font-face with only the glyphs it uses (WeasyPrint
embeds the same subset in the PDF), and matplotlib falls back to the full font for Chinese labels.
"""
from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

from paddle_reg.errors import UserError

FAMILY = "Report Noto Sans SC"
SPACES = [" ", "\u00a0"]


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    try:
        import pylopdf_fonts_zh_cn  # Noto Sans SC (SIL OFL 1.1), installed by setup.py
    except ImportError:
        raise UserError("the reports' CJK font package is missing: run pip install -e . "
                        "(or pip install pylopdf-fonts-zh-cn==0.1.1)") from None
    return pylopdf_fonts_zh_cn.sans_path()


def is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF


def subset_font(text: str) -> bytes | None:
    """An OpenType font with just the CJK characters of ``text`` and the spaces; None when there are none."""
    chars = sorted({c for c in text if is_cjk(c)})
    if not chars:
        return None
    chars += SPACES  # a space between two CJK words is shaped with their font
    from fontTools import subset

    options = subset.Options()
    options.name_IDs = ["*"]  # keep the OFL notice
    options.notdef_outline = True
    font = subset.load_font(str(cjk_font_path()), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(chars))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """A @font-face rule embedding the subset for ``text`` (empty when it has no CJK characters)."""
    data = subset_font(text)
    if data is None:
        return ""
    encoded = base64.b64encode(data).decode()
    return f'@font-face {{ font-family: "{FAMILY}"; src: url(data:font/otf;base64,{encoded}) format("opentype"); }}'


@functools.lru_cache(maxsize=1)
def use_in_matplotlib() -> str:
    """Register the font with matplotlib; returns its family name for a fallback list."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    return font_manager.FontProperties(fname=str(cjk_font_path())).get_name()
