"""The PCB anchors: IoU k-means on box sizes, placed on the finest level, and the config's values from the real boxes."""
from __future__ import annotations

import os

import numpy as np
import pytest
from omegaconf import OmegaConf

from paddle_reg.datasource import data_root
from paddle_reg.tasks.pcb_anchors import iou_wh, kmeans_anchors, level_anchors, trainval_sizes

ROOT = data_root(None)
HAVE_DEEPPCB = (ROOT / "deeppcb" / "PCBData" / "trainval.txt").is_file()


def test_iou_of_corner_aligned_sizes():
    iou = iou_wh(np.array([[2.0, 2.0], [4.0, 1.0]]), np.array([[2.0, 2.0], [1.0, 4.0]]))
    np.testing.assert_allclose(iou, [[1.0, 2 / 6], [2 / 6, 1 / 7]])


def test_kmeans_finds_three_size_clusters_by_area():
    rng = np.random.default_rng(1)
    centres = np.array([[60.0, 20.0], [20.0, 20.0], [30.0, 50.0]])
    sizes = np.concatenate([c * rng.uniform(0.95, 1.05, (200, 2)) for c in centres])
    found = kmeans_anchors(sizes, 3)
    np.testing.assert_allclose(found, centres[np.argsort(centres.prod(1))], rtol=0.03)
    np.testing.assert_array_equal(found, kmeans_anchors(sizes, 3))  # seeded: the same anchors every call


def test_coarser_levels_get_the_finest_anchors_scaled_2_and_4():
    assert level_anchors(np.array([[10.0, 12.0], [15.0, 9.0], [14.0, 14.0]])) == [
        [10, 12], [15, 9], [14, 14], [20, 24], [30, 18], [28, 28], [40, 48], [60, 36], [56, 56]]


@pytest.mark.skipif(not HAVE_DEEPPCB and os.environ.get("PADDLE_REG_REQUIRE_REAL_DATA") != "1",
                    reason=f"real DeepPCB not under {ROOT}/deeppcb (set PADDLE_REG_DATA)")
def test_the_task_config_holds_the_anchors_of_the_real_boxes():
    from paddle_reg.configs import __path__ as config_dirs

    configured = OmegaConf.load(f"{config_dirs[0]}/task/pcb.yaml").model.anchors
    sizes = trainval_sizes(ROOT)
    assert len(sizes) == 6873  # every box of the 1,000 trainval annotations
    assert OmegaConf.to_object(configured) == level_anchors(kmeans_anchors(sizes, 3))
