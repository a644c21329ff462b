"""The DeepPCB reader on tiny generated trees: both channel layouts, both input modes, bad lines, crops and flips."""
from __future__ import annotations

import numpy as np
import pytest

from paddle_reg.errors import UserError
from paddle_reg.tasks.pcb_data import crop_around_defect, load_split, parse_annotation, random_flip, read_list
from pcb_files import make_pcb_root


@pytest.fixture(scope="module")
def pcb_root(tmp_path_factory):
    return make_pcb_root(tmp_path_factory.mktemp("data"))


def test_test_mode_reads_one_channel_from_gray_and_rgb_jpegs(pcb_root):
    split = load_split(pcb_root, "trainval", "test", 640)
    assert split.images.shape == (12, 1, 640, 640) and split.images.dtype == np.uint8
    rgb, gray = split.images[0, 0], split.images[1, 0]  # entry 0 is stored as a 3-channel JPEG, entry 1 as gray
    assert rgb[25, 5] > 200 and rgb[65, 5] < 50 and gray[25, 5] > 200
    assert len(split.boxes) == len(split.classes) == 12 and split.boxes[0].shape[1] == 4


def test_pair_mode_stacks_tested_and_template(pcb_root):
    split = load_split(pcb_root, "test", "pair", 640)
    assert split.images.shape == (4, 2, 640, 640)
    x1, y1, x2, y2 = split.boxes[0][0].astype(int)
    tested, template = split.images[0, 0, y1:y2, x1:x2], split.images[0, 1, y1:y2, x1:x2]
    assert np.abs(tested.astype(int) - template.astype(int)).mean() > 100  # the defect differs from the template


def test_diff_mode_stacks_tested_and_its_absolute_difference_from_the_template(pcb_root):
    pair, diff = load_split(pcb_root, "test", "pair", 640), load_split(pcb_root, "test", "diff", 640)
    assert diff.images.shape == (4, 2, 640, 640)
    np.testing.assert_array_equal(diff.images[:, 0], pair.images[:, 0])
    expected = np.abs(pair.images[:, 0].astype(int) - pair.images[:, 1].astype(int))
    np.testing.assert_array_equal(diff.images[:, 1], expected)


def test_resizing_scales_boxes_and_limit_takes_the_first_entries(pcb_root):
    full, small = load_split(pcb_root, "trainval", "test", 640, limit=3), load_split(pcb_root, "trainval", "test", 320)
    assert small.images.shape[-2:] == (320, 320) and len(full) == 3
    np.testing.assert_allclose(small.boxes[2], full.boxes[2] / 2)
    assert small.names[:3] == full.names


@pytest.mark.parametrize("line, message", [
    ("10 10 40 40", "4 fields"),
    ("10 10 40 40 3 1", "6 fields"),
    ("10 10 40 x 3", "non-numeric"),
    ("10 10 40 40 7", "unknown defect type 7"),
    ("10 10 40 40 0", "unknown defect type 0"),
    ("600 10 660 40 1", "outside the 640×640 image"),
    ("40 10 10 40 1", "empty or outside"),
])
def test_bad_annotation_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "00000001.txt"
    path.write_text(f"1 1 30 30 1\n{line}\n")
    with pytest.raises(UserError, match=rf"{path}:2: .*{message}"):
        parse_annotation(path)


def test_annotation_types_become_zero_based_classes(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("1 2 30 40 1\n5 6 70 80 6")
    boxes, classes = parse_annotation(path)
    assert boxes.tolist() == [[1, 2, 30, 40], [5, 6, 70, 80]] and classes.tolist() == [0, 5]


def test_bad_list_line_and_missing_files_are_named(pcb_root, tmp_path):
    bad = tmp_path / "trainval.txt"
    bad.write_text("group1/1/1.jpg group1/1_not/1.txt\ngroup1/1/2.jpg")
    with pytest.raises(UserError, match=rf"{bad}:2"):
        read_list(bad)
    with pytest.raises(UserError, match="missing DeepPCB list"):
        load_split(tmp_path / "nowhere", "test", "test", 640)
    image = pcb_root / "deeppcb/PCBData/group00001/group00001/00000001_temp.jpg"
    image.write_bytes(b"not a jpeg")
    try:
        with pytest.raises(UserError, match=rf"unreadable image {image}"):
            load_split(pcb_root, "trainval", "pair", 640)
    finally:
        make_pcb_root(pcb_root)


def test_crop_keeps_the_chosen_defect_inside_the_window():
    rng = np.random.default_rng(0)
    image = np.arange(640 * 640, dtype=np.int64).reshape(1, 640, 640)
    boxes = np.array([[100, 200, 140, 230], [600, 600, 630, 630]], np.float32)
    for _ in range(20):
        crop, kept, classes = crop_around_defect(image, boxes, np.array([2, 4]), 160, rng)
        assert crop.shape == (1, 160, 160) and len(kept) >= 1 and set(classes) <= {2, 4}
        x1, y1 = int(kept[0, 0]), int(kept[0, 1])
        assert (kept >= 0).all() and (kept <= 160).all()
        if classes[0] == 2:  # the box's top-left pixel moved with the window
            assert crop[0, y1, x1] == image[0, 200, 100]


def test_crop_of_a_defect_larger_than_the_window_lies_inside_it():
    rng = np.random.default_rng(1)
    boxes = np.array([[100, 100, 300, 150]], np.float32)  # 200 px wide, window 160
    for _ in range(10):
        crop, kept, _ = crop_around_defect(np.zeros((1, 640, 640)), boxes, np.array([0]), 160, rng)
        assert crop.shape == (1, 160, 160) and kept[0, 0] == 0 and kept[0, 2] == 160


def test_flip_moves_boxes_with_pixels():
    rng = np.random.default_rng(3)
    image = np.zeros((1, 64, 64), np.uint8)
    image[0, 10:20, 5:15] = 255
    for _ in range(8):
        flipped, boxes = random_flip(image, np.array([[5, 10, 15, 20]], np.float32), rng)
        x1, y1, x2, y2 = boxes[0].astype(int)
        assert flipped[0, y1:y2, x1:x2].min() == 255 and flipped.sum() == image.sum()
