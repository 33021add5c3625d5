"""Taylor mode's algebra: truncated Taylor series on torch tensors, and the
recurrences of the primitives the other rules are built from (design §15);
the program compiler's target is autodiff.engine.taylor_mode.

Each value of the program is a truncated Taylor series about the point, in
one or several variables, to total degree N: a tensor of shape
(*point shape, M), M monomials ordered by degree (`Ring`). Every primitive
has its rule, as in Griewank and Walther, *Evaluating Derivatives*, ch. 13,
and JAX's `jet`: sums by coefficients, products by convolution, and each
function by the recurrence of the differential equation it satisfies, in
O(N²) per operation where nested autograd grows exponentially with N.

The recurrences are written once for any number of variables: in the
graded ring of homogeneous parts, the Euler operator 𝓔 = Σ xᵢ∂ᵢ multiplies
the part of degree k by k, and 𝓔 exp(u) = exp(u)·𝓔u gives
k·e_k = Σ_j j·u_j·e_{k-j} with products of homogeneous polynomials, the
univariate recurrence with polynomials for numbers. One variable is the case
where every homogeneous part is one number.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch

from autodiff.errors import LimitError

MAX_INTEGER_POWER = 2**20  # x^n by repeated squaring up to this n (exact at 0); beyond, the recurrence


def multi_indices(count: int, order: int) -> list[tuple[int, ...]]:
    """Every α with |α| ≤ order over `count` variables, by total degree, then
    lexicographically with the first variable's power highest (x², xy, y²).
    Built degree by degree (never the (order+1)^count grid)."""
    def of_degree(degree: int, slots: int):
        if slots == 1:
            yield (degree,)
            return
        for first in range(degree, -1, -1):
            for rest in of_degree(degree - first, slots - 1):
                yield (first, *rest)

    if count == 0:
        return [()]
    return [alpha for degree in range(order + 1) for alpha in of_degree(degree, count)]


def pair_count(count: int, order: int) -> int:
    """How many (α, β) with |α + β| ≤ order a full product visits: the
    counted work of one series operation (C(2·count + order, order))."""
    return math.comb(2 * count + order, order)


def check_series_work(instructions: int, count: int, order: int, points: int, limits) -> None:
    """Refuse, before any work, a Taylor-mode run past the limit series-work
    (counted: the same on any machine)."""
    from autodiff.limits import raise_hint

    work = instructions * 4 * pair_count(count, order) * max(points, 1)
    if work > limits.max_series_work:
        raise LimitError(
            f"Taylor mode to degree {order} in {count} variable(s) would take about {work:,} coefficient products "
            f"({instructions} operations{f' at {points:,} points' if points > 1 else ''}): more than the limit of "
            f"{limits.max_series_work:,}; lower the order, or {raise_hint('series-work', work)}"
        )


class Ring:
    """Truncated series in `count` variables to total degree `order`.

    `alphas[i]` is monomial i's multi-index; `parts[k]` the slice of the
    monomials of degree k; `pairs[k]` the (left, right, slot) index tensors
    of every product of monomials that lands in degree k (slot: the position
    within that degree's slice)."""

    def __init__(self, count: int, order: int, device: torch.device):
        order = order if count else 0  # no variable: the value alone
        self.count, self.order, self.device = count, order, device
        self.alphas = multi_indices(count, order)
        self.size = len(self.alphas)
        index = {alpha: i for i, alpha in enumerate(self.alphas)}
        degrees = [sum(alpha) for alpha in self.alphas]
        starts = [degrees.index(k) for k in range(order + 1)] + [self.size]
        self.parts = [slice(starts[k], starts[k + 1]) for k in range(order + 1)]
        self.degrees = torch.tensor(degrees, device=device)
        pairs: list[tuple[list, list, list]] = [([], [], []) for _ in range(order + 1)]
        for i, a in enumerate(self.alphas):
            for j, b in enumerate(self.alphas):
                if degrees[i] + degrees[j] <= order:
                    k = degrees[i] + degrees[j]
                    left, right, slot = pairs[k]
                    left.append(i)
                    right.append(j)
                    slot.append(index[tuple(p + q for p, q in zip(a, b))] - starts[k])
        self.pairs = [tuple(torch.tensor(column, dtype=torch.long, device=device) for column in pair) for pair in pairs]
        self.left = torch.cat([pair[0] for pair in self.pairs])
        self.right = torch.cat([pair[1] for pair in self.pairs])
        self.slot = torch.cat([pair[2] + starts[k] for k, pair in enumerate(self.pairs)])
        self.univariate = count == 1

    def part(self, a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
        """The homogeneous part of degree k of a·b (coefficient tensors)."""
        left, right, slot = self.pairs[k]
        products = a[..., left] * b[..., right]
        if self.univariate:
            return products.sum(-1, keepdim=True)
        size = self.parts[k].stop - self.parts[k].start
        return torch.zeros(*products.shape[:-1], size, dtype=products.dtype, device=products.device).index_add_(
            -1, slot, products)

    def product(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        products = a[..., self.left] * b[..., self.right]
        out = torch.zeros(*products.shape[:-1], self.size, dtype=products.dtype, device=products.device)
        return out.index_add_(-1, self.slot, products)


@functools.lru_cache(maxsize=16)
def ring(count: int, order: int, device: str = "cpu") -> Ring:
    """The Ring of `count` variables to degree `order` on `device` (built once: its pair tables are the cost)."""
    return Ring(count, order, torch.device(device))


class Series:
    """A value of the program: coefficients (*shape, M) in `ring`; `constant`
    when only the degree-0 coefficient can be nonzero (a constant of the
    program), so that a product with it is a scaling."""

    __slots__ = ("c", "ring", "constant")

    def __init__(self, c: torch.Tensor, ring: Ring, constant: bool = False):
        self.c, self.ring, self.constant = c, ring, constant

    @property
    def value(self) -> torch.Tensor:
        """The constant term, f at the point."""
        return self.c[..., 0]

    def like(self, value: torch.Tensor) -> "Series":
        """The constant series `value`, shaped as this one."""
        c = torch.zeros(*value.shape, self.ring.size, dtype=self.c.dtype, device=self.c.device)
        c[..., 0] = value
        return Series(c, self.ring, True)

    def with_value(self, value: torch.Tensor, rest: torch.Tensor) -> "Series":
        """The series of constant term `value` and higher coefficients `rest`'s."""
        c = rest.clone()
        c[..., 0] = value
        return Series(c, self.ring)

    def shifted(self) -> torch.Tensor:
        """u - u(a): the coefficients without the constant term."""
        c = self.c.clone()
        c[..., 0] = 0
        return c

    def euler(self) -> torch.Tensor:
        """𝓔u: each homogeneous part times its degree (no constant term)."""
        return self.c * self.ring.degrees.to(self.c.dtype)


def broadcast(*series: Series) -> list[torch.Tensor]:
    """The series' coefficient tensors broadcast to one point shape."""
    tensors = torch.broadcast_tensors(*[s.c for s in series])
    return list(tensors)


# --- arithmetic ---------------------------------------------------------------


def add(*args: Series) -> Series:
    """A sum, coefficient by coefficient."""
    total = args[0].c
    for arg in args[1:]:
        total = total + arg.c
    return Series(total, args[0].ring, all(arg.constant for arg in args))


def _times(a: Series, b: Series) -> Series:
    if a.constant:
        return Series(b.c * a.c[..., :1], a.ring, b.constant)
    if b.constant:
        return Series(a.c * b.c[..., :1], a.ring)
    x, y = broadcast(a, b)
    return Series(a.ring.product(x, y), a.ring)


def mul(*args: Series) -> Series:
    """A product: the truncated convolution (a scaling by a constant factor)."""
    result = args[0]
    for arg in args[1:]:
        result = _times(result, arg)
    return result


def solve(ring: Ring, value: torch.Tensor, step: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """A series filled degree by degree: constant term `value`, then
    out_k = step(out, k), which reads only the parts of degree < k."""
    out = torch.zeros(*value.shape, ring.size, dtype=value.dtype, device=value.device)
    out[..., 0] = value
    for k in range(1, ring.order + 1):
        out[..., ring.parts[k]] = step(out, k)
    return out


def divide(a: Series, b: Series) -> Series:
    """a/b degree by degree (b(a) ≠ 0; where b vanishes at the point, inf or nan)."""
    if b.constant:
        return Series(a.c / b.c[..., :1], a.ring, a.constant)
    x, y = broadcast(a, b)
    ring, b0 = a.ring, y[..., :1]
    # a = q·b: q_k = (a_k - Σ_{j≥1} b_j q_{k-j}) / b_0 (q's part k is still 0 when read).
    return Series(solve(ring, x[..., 0] / y[..., 0], lambda q, k: (x[..., ring.parts[k]] - ring.part(y, q, k)) / b0), ring)


def reciprocal(u: Series) -> Series:
    """1/u."""
    return divide(u.like(torch.ones_like(u.value)), u)


def integral(u: Series, value: torch.Tensor, derivative: Series) -> Series:
    """f(u) from f(u(a)) = `value` and f'(u) = `derivative`: 𝓔f = f'(u)·𝓔u,
    so each part of degree k is that part of f'(u)·𝓔u divided by k."""
    ring = u.ring
    e = Series(u.euler(), ring)
    c = _times(derivative, e).c
    degrees = ring.degrees.to(c.dtype).clamp(min=1)
    c = c / degrees
    c[..., 0] = value
    return Series(c, ring)


def exp(u: Series) -> Series:
    """exp(u): k·e_k = Σ_j j·u_j·e_{k−j} (𝓔e = e·𝓔u)."""
    if u.constant:
        return u.like(torch.exp(u.value))
    ring, e = u.ring, u.euler()
    return Series(solve(ring, torch.exp(u.value), lambda out, k: ring.part(e, out, k) / k), ring)


def log(u: Series) -> Series:
    """log(u) = log(u(a)) + ∫ 𝓔u/u."""
    if u.constant:
        return u.like(torch.log(u.value))
    return integral(u, torch.log(u.value), reciprocal(u))


def power(u: Series, r) -> Series:
    """u^r for a constant r (a number, or a tensor of one per element):
    exact repeated squaring for a whole number r (u may be 0 at the point),
    else u·𝓔p = r·p·𝓔u degree by degree (u(a) ≠ 0)."""
    if u.constant:
        return u.like(torch.pow(u.value, r))
    if isinstance(r, int) and abs(r) <= MAX_INTEGER_POWER:
        result, base, n = None, u, abs(r)
        while n:
            if n & 1:
                result = base if result is None else _times(result, base)
            n >>= 1
            if n:
                base = _times(base, base)
        if result is None:
            return u.like(torch.ones_like(u.value))
        return reciprocal(result) if r < 0 else result
    ring = u.ring
    e, shifted = u.euler(), u.shifted()
    u0 = u.c[..., :1]
    degrees = ring.degrees.to(u.c.dtype)
    factor = r.unsqueeze(-1) if isinstance(r, torch.Tensor) else r

    def step(p, k):
        # Σ_j u_j (k-j) p_{k-j} = r Σ_j j u_j p_{k-j}; the j = 0 term of the left is u_0·k·p_k.
        return (factor * ring.part(p, e, k) - ring.part(shifted, p * degrees, k)) / (k * u0)

    return Series(solve(ring, torch.pow(u.value, r), step), ring)


def uniform(u: Series):
    """The one number a constant series holds at every element of the point, else None."""
    if not u.constant:
        return None
    values = u.value.flatten()
    if values.numel() == 0 or not bool((values == values[0]).all()):
        return None
    return values[0].item()


def general_power(base: Series, exponent: Series) -> Series:
    """base^exponent: a constant exponent by `power` (per element where the
    point gives it several values), else exp(exponent·log(base))."""
    r = uniform(exponent)
    if r is not None:
        return power(base, int(r) if r == int(r) and abs(r) <= MAX_INTEGER_POWER else r)
    if base.constant and exponent.constant:
        return base.like(torch.pow(base.value, exponent.value))
    if exponent.constant:
        return power(base, exponent.value)
    return exp(mul(exponent, log(base)))


def _sin_cos(u: Series, hyperbolic: bool = False) -> tuple[Series, Series]:
    ring, e = u.ring, u.euler()
    s = torch.zeros_like(u.c)
    c = torch.zeros_like(u.c)
    s[..., 0] = torch.sinh(u.value) if hyperbolic else torch.sin(u.value)
    c[..., 0] = torch.cosh(u.value) if hyperbolic else torch.cos(u.value)
    sign = 1.0 if hyperbolic else -1.0
    for k in range(1, ring.order + 1):
        part = ring.parts[k]
        s_k = ring.part(e, c, k) / k
        c[..., part] = sign * ring.part(e, s, k) / k
        s[..., part] = s_k
    return Series(s, ring), Series(c, ring)


def sin(u):
    """sin(u), computed with cos(u): 𝓔s = c·𝓔u, 𝓔c = −s·𝓔u."""
    return u.like(torch.sin(u.value)) if u.constant else _sin_cos(u)[0]


def cos(u):
    """cos(u) (see sin)."""
    return u.like(torch.cos(u.value)) if u.constant else _sin_cos(u)[1]


def sinh(u):
    """sinh(u), computed with cosh(u): 𝓔s = c·𝓔u, 𝓔c = s·𝓔u."""
    return u.like(torch.sinh(u.value)) if u.constant else _sin_cos(u, True)[0]


def cosh(u):
    """cosh(u) (see sinh)."""
    return u.like(torch.cosh(u.value)) if u.constant else _sin_cos(u, True)[1]


def _riccati(u: Series, value: torch.Tensor, slope: torch.Tensor, sign: float, linear: float = 0.0) -> Series:
    """f(u) with f' = 1 + sign·f² (tan: +1, tanh: −1) or, with `linear`,
    f' = linear·f + sign·f² (the logistic sigmoid: f − f²). `slope` is
    f'(u(a)) computed directly: 1 − tanh² from a rounded tanh would cancel
    to 0 far from 0, where sech² is tiny but not 0."""
    ring, e = u.ring, u.euler()
    t = torch.zeros_like(u.c)
    w = torch.zeros_like(u.c)  # f'(u), filled one degree behind t
    t[..., 0] = value
    w[..., 0] = slope
    for k in range(1, ring.order + 1):
        part = ring.parts[k]
        t[..., part] = ring.part(e, w, k) / k
        w[..., part] = linear * t[..., part] + sign * ring.part(t, t, k)
    return Series(t, ring)


def tan(u):
    """tan(u): tan' = 1 + tan²."""
    if u.constant:
        return u.like(torch.tan(u.value))
    return _riccati(u, torch.tan(u.value), torch.cos(u.value) ** -2, 1.0)


def tanh(u):
    """tanh(u): tanh' = 1 − tanh²."""
    if u.constant:
        return u.like(torch.tanh(u.value))
    return _riccati(u, torch.tanh(u.value), torch.cosh(u.value) ** -2, -1.0)


def sigmoid(u):
    """The logistic sigmoid: σ' = σ − σ²."""
    if u.constant:
        return u.like(torch.sigmoid(u.value))
    return _riccati(u, torch.sigmoid(u.value), torch.sigmoid(u.value) * torch.sigmoid(-u.value), -1.0, 1.0)


def one(u: Series) -> Series:
    """The constant 1, shaped as u."""
    return u.like(torch.ones_like(u.value))


def square(u: Series) -> Series:
    """u·u."""
    return _times(u, u)


def scaled(u: Series, factor: float) -> Series:
    """factor·u."""
    return Series(u.c * factor, u.ring, u.constant)
