"""Decay groups on the task models: the news BiLSTM with its embedding, the PCB YOLOv3 with BatchNorm, the MNIST CNN
with each norm and the deep residual MLP (the MLP: test_optim)."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from conftest import compose_config
from omegaconf import OmegaConf

from paddle_reg.optim import build_optimizer, param_groups_weight_decay


def optim_cfg(**overrides):
    return OmegaConf.create({"name": "adam", "lr": 1e-3, "weight_decay": 5e-4, "decay_mode": "coupled", **overrides})


def news_model(**model_overrides):
    """The news task's BiLSTM at a tiny size (vocabulary of 50, 4 classes)."""
    from paddle_reg.tasks.news import BiLSTMClassifier

    return BiLSTMClassifier(50, 4, **{"embed_dim": 8, "hidden": 6, "fc": 10, **model_overrides})


def test_bilstm_embedding_recurrent_and_head_weights_decay_biases_do_not():
    model = news_model()
    groups = param_groups_weight_decay(model, optim_cfg())
    lstm_weights = [n for n, p in model.named_parameters() if n.startswith("lstm") and "weight" in n]
    assert len(lstm_weights) == 4  # input and recurrent matrices, both directions
    assert groups.decay == ["embedding.weight", *lstm_weights, "fc.weight", "classifier.weight"]
    assert all("bias" in n for n in groups.no_decay) and len(groups.no_decay) == 6


def test_bilstm_news_config_decays_only_embedding_and_head():
    """E1's setting as the real news config writes it: decay on the embedding and the head, biases excluded."""
    cfg = compose_config("task=news")
    groups = param_groups_weight_decay(news_model(), cfg.optim)
    assert groups.decay == ["embedding.weight", "fc.weight", "classifier.weight"]
    assert not param_groups_weight_decay(news_model(), optim_cfg(decay_embeddings=False)).decay[0].startswith("emb")


@pytest.fixture(scope="module")
def yolov3():
    """The PCB task's detector (ppdet YOLOv3: MobileNet, FPN, YOLOv3 head, all with BatchNorm) from the real config."""
    from paddle_reg.tasks.pcb_model import build_detector

    cfg = compose_config("task=pcb", "profile=smoke", "regime=both")
    return build_detector(cfg.model, {}, in_channels=1, num_classes=6)


def test_yolov3_convolutions_decay_batchnorm_and_biases_do_not(yolov3):
    params = dict(yolov3.named_parameters())
    bn = {n for layer_name, layer in yolov3.named_sublayers() if isinstance(layer, paddle.nn.BatchNorm2D)
          for n in (f"{layer_name}.weight", f"{layer_name}.bias")}
    groups = param_groups_weight_decay(yolov3, optim_cfg())
    assert len(bn) > 50
    assert set(groups.decay) == {n for n, p in params.items() if p.ndim == 4}  # every conv kernel, nothing else
    assert bn <= set(groups.no_decay) and set(groups.no_decay) - bn == {n for n in params if n.endswith("bias")} - bn


@pytest.mark.parametrize("name,mode", [("momentum", "coupled"), ("sgd", "decoupled"), ("adamw", "coupled")])
def test_yolov3_with_zero_gradients_exactly_the_decay_group_shrinks(yolov3, name, mode):
    """ppdet puts L2Decay(0.0) on its convs and BN params: the factory's groups must win over those (adamw decays
    decoupled whatever decay_mode says)."""
    optimizer, _, groups = build_optimizer(yolov3, optim_cfg(name=name, decay_mode=mode, lr=0.1, weight_decay=0.01), 1, 1)
    params = dict(yolov3.named_parameters())
    before = {n: p.numpy().copy() for n, p in params.items()}
    paddle.add_n([(p * 0.0).sum() for p in params.values()]).backward()
    optimizer.step()
    optimizer.clear_grad()
    for n in groups.decay:
        np.testing.assert_allclose(params[n].numpy(), before[n] * (1 - 0.1 * 0.01), rtol=1e-5, atol=1e-8, err_msg=n)
    for n in groups.no_decay:
        np.testing.assert_array_equal(params[n].numpy(), before[n], err_msg=n)


def norm_parameter_names(model) -> set[str]:
    return {f"{name}.{p}" for name, layer in model.named_sublayers()
            if isinstance(layer, (paddle.nn.layer.norm._BatchNormBase, paddle.nn.LayerNorm, paddle.nn.GroupNorm))
            for p, param in layer.named_parameters(include_sublayers=False) if not param.stop_gradient}


@pytest.mark.parametrize("norm", ["bn", "gn", "ln", "none"])
def test_cnn_kernels_and_classifier_decay_norms_and_biases_do_not(norm):
    from paddle_reg.tasks.mnist_cnn import ConvNet

    model = ConvNet([4, 8, 8], 10, norm, dropout_p=0.3)
    params = {n: p for n, p in model.named_parameters() if not p.stop_gradient}
    groups = param_groups_weight_decay(model, optim_cfg())
    assert groups.decay == [n for n, p in params.items() if p.ndim == 4] + ["classifier.weight"]
    assert len(groups.decay) == 4
    norms = norm_parameter_names(model)
    assert len(norms) == (0 if norm == "none" else 6)  # a scale and a shift per block
    assert set(groups.no_decay) == norms | {n for n in params if n.endswith("bias")}


def test_residual_mlp_linear_weights_decay_layernorms_and_biases_do_not():
    from paddle_reg.tasks.mnist_resnet import ResidualMLP

    model = ResidualMLP(8, 20, 10, "ln", 0.0, [0.1] * 20)
    groups = param_groups_weight_decay(model, optim_cfg())
    blocks = [f"blocks.{i}.{fc}.weight" for i in range(20) for fc in ("fc1", "fc2")]
    assert groups.decay == ["stem.weight", *blocks, "classifier.weight"]
    norms = norm_parameter_names(model)
    assert len(norms) == 2 * 21  # each block's LayerNorm and the one before the classifier
    assert set(groups.no_decay) == norms | {n for n, _ in model.named_parameters() if n.endswith("bias")}


@pytest.mark.parametrize("task,norm", [("mnist_cnn", "bn"), ("mnist_cnn", "gn"), ("mnist_resnet", "ln")])
def test_task_models_with_zero_gradients_exactly_the_decay_group_shrinks(task, norm):
    """Decoupled decay through the real task configs' models: weights shrink by lr·λ, norms and biases stay."""
    from paddle_reg.task_registry import get_task

    cfg = compose_config(f"task={task}", "profile=smoke", "regime=weight_decay", f"model.norm={norm}")
    model = get_task(task).build_model(cfg, None)
    optimizer, _, groups = build_optimizer(model, optim_cfg(name="sgd", decay_mode="decoupled", lr=0.1,
                                                            weight_decay=0.01), 1, 1)
    params = {n: p for n, p in model.named_parameters() if not p.stop_gradient}
    before = {n: p.numpy().copy() for n, p in params.items()}
    paddle.add_n([(p * 0.0).sum() for p in params.values()]).backward()
    optimizer.step()
    assert groups.decay and groups.no_decay
    for n in groups.decay:
        np.testing.assert_allclose(params[n].numpy(), before[n] * (1 - 0.1 * 0.01), rtol=1e-5, atol=1e-8, err_msg=n)
    for n in groups.no_decay:
        np.testing.assert_array_equal(params[n].numpy(), before[n], err_msg=n)
