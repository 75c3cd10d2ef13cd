"""The DCGAN and ResNet-18 samples compile to the published networks, written out here by hand:
pytorch/examples' dcgan/main.py (nz 100, ngf 64, ndf 64, nc 3, 64x64 images) and torchvision's
resnet18 with 10 classes. The parameter counts are the published ones; with the same weights
and batch-norm statistics copied in, both compute the same outputs, in eval and train mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from composed_graphs import single_threaded_torch
from torch import nn
from torch.testing import assert_close

import composer

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DCGAN = SAMPLES / "dcgan_color_digits.graph.json"
RESNET = SAMPLES / "resnet18_color_digits.graph.json"
TOL = {"atol": 1e-5, "rtol": 1e-5}
NZ, NGF, NDF, NC = 100, 64, 64, 3


@pytest.fixture(autouse=True)
def _one_thread():
    yield from single_threaded_torch()


# --- pytorch/examples, dcgan/main.py ------------------------------------------------------------

class DCGANGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False),  # -> 512 x 4 x 4
            nn.BatchNorm2d(NGF * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False),  # -> 256 x 8 x 8
            nn.BatchNorm2d(NGF * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),  # -> 128 x 16 x 16
            nn.BatchNorm2d(NGF * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # -> 64 x 32 x 32
            nn.BatchNorm2d(NGF),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False),  # -> 3 x 64 x 64
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(NC, NDF, 4, 2, 1, bias=False),  # -> 64 x 32 x 32
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),  # -> 128 x 16 x 16
            nn.BatchNorm2d(NDF * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False),  # -> 256 x 8 x 8
            nn.BatchNorm2d(NDF * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False),  # -> 512 x 4 x 4
            nn.BatchNorm2d(NDF * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False),  # -> 1 x 1 x 1
            nn.Sigmoid(),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.main(image).view(-1, 1).squeeze(1)


def dcgan_weights_init(m: nn.Module) -> None:
    """main.py's weights_init: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# --- torchvision, models/resnet.py (resnet18: BasicBlock, layers [2, 2, 2, 2]) -------------------

class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- helpers --------------------------------------------------------------------------------------

def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def randomise_batchnorm(module: nn.Module, seed: int) -> None:
    """Scales, shifts and running statistics away from their defaults, so that eval mode
    shows whether the statistics were carried over."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.1 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


def copy_by_order(hand: nn.Module, compiled: nn.Module) -> None:
    """The hand-written module's parameters and buffers into the compiled one, entry by entry
    in state_dict order; each pair must agree in kind (weight, running_mean, ...) and shape."""
    theirs, ours = hand.state_dict(), compiled.state_dict()
    assert len(theirs) == len(ours), f"{list(theirs)} vs {list(ours)}"
    with torch.no_grad():
        for (name, value), (key, target) in zip(theirs.items(), ours.items(), strict=True):
            assert name.rsplit(".", 1)[1] == key.rsplit(".", 1)[1], (name, key)
            assert value.shape == target.shape, (name, key, value.shape, target.shape)
            target.copy_(value)


def torchvision_name(key: str) -> str:
    """A compiled ResNet key in torchvision's spelling: `layer2_0.downsample_0.weight` is
    `layer2.0.downsample.0.weight` (the sample's ids stand for torchvision's dotted names)."""
    return re.sub(r"(layer\d|downsample)_(\d)", r"\1.\2", key)


def copy_by_name(hand: nn.Module, compiled: nn.Module) -> None:
    theirs = hand.state_dict()
    ours = {torchvision_name(k): v for k, v in compiled.state_dict().items()}
    assert sorted(ours) == sorted(theirs)
    with torch.no_grad():
        for name, value in theirs.items():
            ours[name].copy_(value)


def color_images(rows: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(rows, NC, size, size, generator=g) * 2 - 1


# --- DCGAN ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dcgan() -> nn.Module:
    return composer.compile(composer.load(DCGAN))


def test_dcgan_sample_has_the_published_parameter_counts(dcgan):
    assert count(DCGANGenerator()) == 3_576_704 and count(DCGANDiscriminator()) == 2_765_568
    assert count(dcgan.generator) == 3_576_704
    assert count(dcgan.d_real) == 2_765_568
    assert dcgan.d_fake is dcgan.d_real and dcgan.d_for_g is dcgan.d_real  # one discriminator
    assert count(dcgan) == 3_576_704 + 2_765_568


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_dcgan_sample_computes_what_main_py_computes(dcgan, mode):
    torch.manual_seed(0)
    net_g, net_d = DCGANGenerator(), DCGANDiscriminator()
    for net, seed in ((net_g, 1), (net_d, 2)):
        net.apply(dcgan_weights_init)
        randomise_batchnorm(net, seed)
    copy_by_order(net_g, dcgan.generator)
    copy_by_order(net_d, dcgan.d_real)
    for m in (dcgan, net_g, net_d):
        m.train(mode == "train")
    z = torch.randn(8, NZ, generator=torch.Generator().manual_seed(3))
    real = color_images(8, 64, 4)

    fake = net_g(z.view(-1, NZ, 1, 1))
    want = {"generator.image": fake,
            "err_d_real.loss": F.binary_cross_entropy(net_d(real), torch.ones(8)),
            "err_d_fake.loss": F.binary_cross_entropy(net_d(fake.detach()), torch.zeros(8)),
            "err_g.loss": F.binary_cross_entropy(net_d(fake), torch.ones(8))}
    got = dcgan({"noise.z": z, "images.x": real}, outputs=list(want))
    for name, value in want.items():
        assert_close(got[name], value, **TOL, msg=name)
    scores = dcgan({"images.x": real}, outputs=["d_real.p_real"])["d_real.p_real"]
    assert_close(scores.view(-1), net_d(real), **TOL)
    if mode == "train":  # batch norm's running statistics moved the same way
        ours, theirs = dcgan.generator.state_dict(), net_g.state_dict()
        assert_close(list(ours.values()), list(theirs.values()), **TOL)


# --- ResNet-18 ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    return composer.compile(composer.load(RESNET))


def test_resnet_sample_has_the_published_parameter_count(resnet):
    assert count(ResNet18()) == 11_181_642
    assert count(resnet) == 11_181_642


def test_resnet_sample_names_its_weights_as_torchvision_does(resnet):
    names = {torchvision_name(k) for k in resnet.state_dict()}
    assert names == set(ResNet18().state_dict())


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_resnet_sample_computes_what_torchvision_computes(resnet, mode):
    torch.manual_seed(0)
    hand = ResNet18()
    randomise_batchnorm(hand, 5)
    copy_by_name(hand, resnet)
    resnet.train(mode == "train")
    hand.train(mode == "train")
    x = color_images(4, 32, 6)  # the sample's images are 3x32x32
    logits = resnet({"images.x": x}, outputs=["fc.out"])["fc.out"]
    assert_close(logits, hand(x), **TOL)
    if mode == "train":
        ours = {torchvision_name(k): v for k, v in resnet.state_dict().items()}
        assert_close(ours, hand.state_dict(), **TOL)
