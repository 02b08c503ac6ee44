"""The Keras recipe's training parts: its Adam, its loss and its split D updates."""

from __future__ import annotations

import torch

from dcgan_lab.training.keras_adam import KerasAdam
from dcgan_lab.training.losses import GANLoss, HingeLoss, KerasBCELoss, LeastSquaresLoss


def test_keras_adam_adds_epsilon_after_the_bias_correction() -> None:
    w0 = torch.tensor([1.0, -2.0, 0.5])
    grads = [torch.tensor([1e-6, -3e-2, 2.0]), torch.tensor([-2e-6, 1e-2, 1.0])]
    p = torch.nn.Parameter(w0.clone())
    opt = KerasAdam([p], lr=1e-3, eps=1e-7)
    m = v = torch.zeros(3)
    w = w0.clone()
    for t, g in enumerate(grads, start=1):  # Keras 3's Adam.update_step, written out
        p.grad = g
        opt.step()
        m, v = m + (g - m) * 0.1, v + (g * g - v) * 0.001
        w = w - m * (1e-3 * (1 - 0.999**t) ** 0.5 / (1 - 0.9**t)) / (v.sqrt() + 1e-7)
    torch.testing.assert_close(p.detach(), w)
    # PyTorch's Adam puts epsilon inside the correction: the tiny-gradient element differs
    q = torch.nn.Parameter(w0.clone())
    torch_adam = torch.optim.Adam([q], lr=1e-3, eps=1e-7)
    for g in grads:
        q.grad = g
        torch_adam.step()
    assert abs(float(q[0] - p[0])) > 1e-5


def test_keras_bce_clips_probabilities_and_stops_the_gradient_there() -> None:
    loss = KerasBCELoss()
    logits = torch.tensor([0.0, 3.0, 40.0], requires_grad=True)
    plain = GANLoss().discriminator_real(logits[:2].detach())
    torch.testing.assert_close(loss.discriminator_real(logits[:2]), plain)
    fake = loss.discriminator_fake(logits[2:])  # D sure of a fake: -log(1 - (1 - 1e-7)) in float32
    clipped = torch.tensor(1 - 1e-7)  # 0.99999988 in float32
    torch.testing.assert_close(fake, -torch.log(1 - clipped))
    (grad,) = torch.autograd.grad(fake, logits)
    assert grad[2] == 0  # Keras' clip passes no gradient where D saturates


def test_split_discriminator_losses_sum_to_the_joint_loss() -> None:
    real, fake = torch.randn(8), torch.randn(8)
    for loss in (GANLoss(label_smoothing=0.1), HingeLoss(), LeastSquaresLoss(), KerasBCELoss()):
        joint = loss.discriminator(real, fake)
        torch.testing.assert_close(
            joint, loss.discriminator_real(real) + loss.discriminator_fake(fake)
        )
