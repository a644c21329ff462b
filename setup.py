"""paddle_reg: what Dropout, weight decay and both together do to generalization, measured in PaddlePaddle."""
from setuptools import setup

# One resolver pass must see every pin: numpy<1.24 and opencv<=4.6 are what paddledet 2.6 (the PCB
# task) needs, and a second pip command would downgrade numpy under already-installed packages
# (scikit-learn among them). paddlenlp 2.8.1 imports on Paddle 3.3.1 only with the four caps below it.
# Paddle's GPU wheel is not on PyPI: see the README for Paddle's own index.
INSTALL_REQUIRES = [
    "paddlepaddle==3.3.1",
    "numpy>=1.21,<1.24",
    "scipy>=1.10,<1.16",
    "hydra-core==1.3.*",
    "omegaconf==2.3.*",
    "matplotlib>=3.7",
    "jinja2>=3.1",
    "weasyprint>=60",
    "pylopdf-fonts-zh-cn==0.1.1",  # Noto Sans SC for the reports' Chinese text (no system font assumed)
    "visualdl==2.5.*",
    "tqdm>=4.60",
    "platformdirs>=3",
    "paddledet==2.6.0",
    "opencv-python<=4.6.0.66",
    "paddlenlp==2.8.1",
    "huggingface-hub<0.26",
    "datasets<3",
    "aistudio-sdk<0.3",
    "pyarrow<17",
    "optuna==5.*",  # python -m paddle_reg.tune (imported by it alone)
]
# executor=ray (imported only then): the runs of a grid or a study as tasks on a Ray cluster
CLUSTER_REQUIRES = ["ray[default]==2.60.*"]

setup(
    name="paddle-reg",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10",
    packages=["paddle_reg", "paddle_reg.report", "paddle_reg.regularizers", "paddle_reg.tasks", "paddle_reg.configs"],
    # tasks/ and configs/ live at the top of the repo (the design's layout) and install inside
    # the paddle_reg namespace, so `import paddle_reg.tasks` cannot collide with another package.
    package_dir={"paddle_reg": "paddle_reg", "paddle_reg.tasks": "tasks", "paddle_reg.configs": "configs"},
    package_data={
        "paddle_reg.configs": ["*.yaml", "**/*.yaml"],
        "paddle_reg.report": ["templates/*", "*.yaml"],
        "paddle_reg.tasks": ["*.cc"],  # the PCB depthwise kernel's source, compiled on first use
    },
    install_requires=INSTALL_REQUIRES,
    extras_require={"cluster": CLUSTER_REQUIRES, "test": ["pytest>=7", *CLUSTER_REQUIRES]},
    entry_points={"console_scripts": ["paddle-reg=paddle_reg.run:main"]},
)
