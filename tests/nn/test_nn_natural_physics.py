"""Natural quantization, physics: the closed forms of the rotation and the weak measurement."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.nn.natural.physics import (
    expected_activation,
    measurement_probability,
    post_measurement_angle,
    rotation_angle,
    strong_measurement_probability,
)


def test_paper_update_is_the_published_arcsin_formula() -> None:
    phi = torch.linspace(-math.pi, 2 * math.pi, 301, dtype=torch.float64)
    for g in (0.0, 0.3, 5 * math.pi / 19, 1.2, math.pi / 2):
        s = math.sin(g)
        for m in (1.0, -1.0):
            ratio = (1 - m * s) / (1 + m * s * torch.cos(phi))
            ok = torch.isfinite(ratio)
            published = 2 * torch.arcsin(
                (torch.sin(phi / 2) * ratio.clamp_min(0).sqrt()).clamp(-1, 1)
            )
            ours = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "paper")
            # arcsin is ill-conditioned next to +-1 (phi = +-pi), hence 1e-6
            torch.testing.assert_close(ours[ok], published[ok], atol=1e-6, rtol=0)


def test_exact_update_is_the_kraus_state_and_differs_from_the_paper_beyond_pi() -> None:
    phi = torch.linspace(-2 * math.pi + 0.01, 2 * math.pi - 0.01, 401, dtype=torch.float64)
    g = 0.6
    s = math.sin(g)
    for m in (1.0, -1.0):
        amp = torch.stack(
            [torch.cos(phi / 2) * math.sqrt(1 + m * s), torch.sin(phi / 2) * math.sqrt(1 - m * s)]
        )
        amp = amp / amp.norm(dim=0)
        new = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "exact")
        torch.testing.assert_close(torch.stack([torch.cos(new / 2), torch.sin(new / 2)]), amp)
        paper = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "paper")
        inside = torch.cos(phi / 2) >= 0
        # the same state inside |phi| <= pi; a different state (not just a global sign) outside
        # (same Z populations everywhere; sin(phi') = 2 alpha' beta' tells the states apart)
        torch.testing.assert_close(torch.cos(paper), torch.cos(new))
        torch.testing.assert_close(torch.sin(paper[inside]), torch.sin(new[inside]))
        assert (torch.sin(paper[~inside]) - torch.sin(new[~inside])).abs().max() > 0.5


@given(phi=st.floats(-math.pi, math.pi), g=st.floats(0, math.pi / 2), plus=st.booleans())
def test_updates_agree_while_cos_half_phi_is_non_negative(phi: float, g: float, plus: bool) -> None:
    t = torch.tensor([phi], dtype=torch.float64)
    m = torch.tensor([1.0 if plus else -1.0], dtype=torch.float64)
    if measurement_probability(t, g).item() in ((0.0,) if plus else (1.0,)):
        return  # an impossible outcome has no post-measurement state
    a = post_measurement_angle(t, m, g, "paper")
    b = post_measurement_angle(t, m, g, "exact")
    assert math.isclose(a.item(), b.item(), abs_tol=1e-7)


def test_strong_measurement_closed_forms() -> None:
    z = torch.linspace(-3, 3, 61, dtype=torch.float64)
    for a in (0.1, 0.316, 1.0):
        phi = rotation_angle(z, 1.0, a)
        p = measurement_probability(phi, math.pi / 2)
        torch.testing.assert_close(p, strong_measurement_probability(z, a))
        torch.testing.assert_close(2 * p - 1, expected_activation(z, a))
    torch.testing.assert_close(expected_activation(z, 0.0), torch.sign(z))
    torch.testing.assert_close(measurement_probability(phi, 0.0), torch.full_like(phi, 0.5))
