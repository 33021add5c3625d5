"""A Hessian's curvature: symmetry, eigenvalues, definiteness, and the kind
of critical point where the gradient is zero (`autodiff hessian`)."""

from __future__ import annotations

from autodiff.results import numbers


class Curvature:
    """Symmetry, eigenvalues and definiteness of an autograd Hessian (n, n, *shape),
    and the kind of critical point where the gradient (n, *shape) is zero."""

    KINDS = {
        "positive definite": "local minimum",
        "negative definite": "local maximum",
        "indefinite": "saddle point",
        "positive semidefinite": "inconclusive",
        "negative semidefinite": "inconclusive",
        "zero": "inconclusive",
    }

    def __init__(self, matrix, gradient, tolerance):
        import torch

        matrix, gradient = matrix.to(torch.float64), gradient.to(torch.float64)
        self.symmetric = bool(tolerance.close(matrix, matrix.transpose(0, 1)).all())
        vector = matrix.dim() == 3
        batch = matrix.permute(2, 0, 1) if vector else matrix.unsqueeze(0)  # (points, n, n)
        finite = torch.isfinite(batch).flatten(1).all(dim=1)
        symmetric = (batch + batch.transpose(1, 2)) / 2
        try:
            eigenvalues = torch.linalg.eigvalsh(torch.where(finite.view(-1, 1, 1), symmetric, 0.0))
        except torch.linalg.LinAlgError:  # entries near 1e308: no convergence; point by point, nan where it fails
            eigenvalues = torch.stack([_eigenvalues(matrix) for matrix in symmetric])
        eigenvalues[~finite] = torch.nan
        flat = gradient.reshape(gradient.shape[0], -1) if gradient.shape[0] else torch.zeros(0, batch.shape[0])
        critical = tolerance.close(flat, torch.zeros_like(flat)).all(dim=0)
        kinds = _definiteness(eigenvalues, tolerance)
        points = [
            self.KINDS.get(kind) if is_critical else None for kind, is_critical in zip(kinds, critical.tolist())
        ]
        columns = eigenvalues.transpose(0, 1)  # (n, points): every number a list over the points
        self.eigenvalues = [numbers(column) if vector else column.item() for column in columns]
        self.definiteness = kinds if vector else kinds[0]
        self.critical_point = points if vector else points[0]


def _eigenvalues(matrix):
    import torch

    try:
        return torch.linalg.eigvalsh(matrix if bool(torch.isfinite(matrix).all()) else torch.zeros_like(matrix))
    except torch.linalg.LinAlgError:
        return torch.full(matrix.shape[:1], torch.nan, dtype=matrix.dtype)


def _definiteness(eigenvalues, tolerance) -> list[str]:
    """For each point's eigenvalues (a row): positive/negative (semi)definite,
    indefinite, zero, or undefined; eigenvalues within the tolerance of zero
    (relative to the largest) count as zero."""
    import torch

    finite = torch.isfinite(eigenvalues).all(dim=1)
    largest = eigenvalues.abs().amax(dim=1, keepdim=True) if eigenvalues.shape[1] else torch.zeros(len(eigenvalues), 1)
    band = tolerance.atol + tolerance.rtol * largest
    positive = (eigenvalues > band).any(dim=1).tolist()
    negative = (eigenvalues < -band).any(dim=1).tolist()
    zero = (eigenvalues.abs() <= band).any(dim=1).tolist()
    kinds = []
    for ok, pos, neg, nil in zip(finite.tolist(), positive, negative, zero):
        if not ok:
            kinds.append("undefined")
        elif pos and neg:
            kinds.append("indefinite")
        elif pos:
            kinds.append("positive semidefinite" if nil else "positive definite")
        elif neg:
            kinds.append("negative semidefinite" if nil else "negative definite")
        else:
            kinds.append("zero")
    return kinds
