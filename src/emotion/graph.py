"""The face graph: 68 iBUG landmarks, their edges, and ST-GCN's spatial partition of the adjacency.

Edges are the natural iBUG outlines (jaw chain, each brow, nose bridge and base, each eye loop, outer and
inner lip loops: 63 edges, read from ``emotion.face68``) plus ``LINKS``, the 11 edges that tie the parts
into one connected graph (74 edges in all).

Partition (ST-GCN's *spatial* strategy over the whole graph): every edge is given an explicit direction
towards the centre (the nose tip). Nodes are ranked by breadth-first search from the centre (hop distance,
ties broken by discovery order, neighbours visited in index order), and an edge points *inward* from the
later-ranked node to the earlier one. ``A[0]`` holds the self loops (root), ``A[1]`` each node's neighbours
nearer the centre (centripetal), ``A[2]`` those farther away (centrifugal). Unlike st-gcn's ``max_hop=1``
version, which puts neighbours at equal hop distance in the root subset, no edge is lost to the root here:
the subsets hold 68, 74 and 74 entries.

Convention: ``A[k, w, v]`` is the weight with which node ``w`` gathers node ``v``; each row is divided by
the node's degree (self loop included), so the three subsets of a row sum to 1.
Temporal edges (a landmark to itself in the neighbouring frames) are the models' temporal convolution.
"""

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from emotion.face68 import CLOSED_PARTS, NOSE_TIP, NUM_LANDMARKS, PARTS

Edge = tuple[int, int]

LINKS: tuple[Edge, ...] = (
    (30, 33),            # nose tip - nose base centre
    (27, 21), (27, 22),  # nose bridge top - inner brow ends
    (27, 39), (27, 42),  # nose bridge top - inner eye corners
    (0, 17), (16, 26),   # jaw ends - outer brow ends
    (33, 51),            # nose base centre - upper lip centre
    (48, 60), (54, 64),  # outer - inner lip corners
    (8, 57),             # chin - lower lip centre
)
"""The edges added to the natural outlines to make one connected graph."""

NUM_SUBSETS: int = 3
"""Partitions of ``FaceGraph.A``: root (self), centripetal (inward), centrifugal (outward)."""


def part_edges() -> list[Edge]:
    """The natural iBUG outline edges: consecutive points of each part, loops closed."""
    edges: list[Edge] = []
    for name, idx in PARTS.items():
        edges += list(zip(idx[:-1], idx[1:]))
        if name in CLOSED_PARTS:
            edges.append((idx[-1], idx[0]))
    return edges


def bfs_rank(num_nodes: int, edges: list[Edge], center: int) -> np.ndarray:
    """Breadth-first discovery order from ``center``: rank[v] (0 for the centre).

    Raises ValueError if the graph is not connected.
    """
    neighbours: list[list[int]] = [[] for _ in range(num_nodes)]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    rank = np.full(num_nodes, -1, dtype=np.int64)
    rank[center] = 0
    queue, nxt = deque([center]), 1
    while queue:
        node = queue.popleft()
        for other in sorted(neighbours[node]):
            if rank[other] < 0:
                rank[other], nxt = nxt, nxt + 1
                queue.append(other)
    if (rank < 0).any():
        raise ValueError(f"graph is not connected: nodes {np.flatnonzero(rank < 0).tolist()} unreachable from {center}")
    return rank


@dataclass
class FaceGraph:
    """The 68-node face graph with ST-GCN's spatial partition.

    Attributes: ``edges`` (undirected, each once), ``inward`` ((i, j): j is nearer the centre),
    ``outward`` (the inward edges reversed), ``center``, ``A``.
    Shape: A (3, 68, 68) float32.
    """

    center: int = NOSE_TIP
    num_nodes: int = NUM_LANDMARKS
    edges: list[Edge] = field(default_factory=lambda: part_edges() + list(LINKS))

    def __post_init__(self) -> None:
        self.edges = [(int(i), int(j)) for i, j in self.edges]
        bad = [e for e in self.edges if e[0] == e[1] or not all(0 <= n < self.num_nodes for n in e)]
        if bad:
            raise ValueError(f"invalid edges (self loop or node outside 0..{self.num_nodes - 1}): {bad}")
        if len({frozenset(e) for e in self.edges}) != len(self.edges):
            raise ValueError("duplicate edges in the face graph")
        rank = bfs_rank(self.num_nodes, self.edges, self.center)
        self.inward: list[Edge] = [(i, j) if rank[j] < rank[i] else (j, i) for i, j in self.edges]
        self.outward: list[Edge] = [(j, i) for i, j in self.inward]
        self.A: np.ndarray = self._partitioned_adjacency()

    def _partitioned_adjacency(self) -> np.ndarray:
        n = self.num_nodes
        A = np.zeros((NUM_SUBSETS, n, n), dtype=np.float64)
        A[0] = np.eye(n)
        for i, j in self.inward:
            A[1, i, j] = 1.0   # i gathers j, which is nearer the centre
            A[2, j, i] = 1.0   # j gathers i, which is farther away
        degree = A.sum(axis=(0, 2))
        return (A / degree[None, :, None]).astype(np.float32)

    def to_dict(self) -> dict:
        """What a checkpoint records to tell whether a model was trained on this graph."""
        return {"num_nodes": self.num_nodes, "center": self.center, "edges": [list(e) for e in self.edges]}
