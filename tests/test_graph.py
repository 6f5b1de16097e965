"""The face graph: connectivity, symmetry, a balanced spatial partition."""

import numpy as np
import pytest

from emotion.face68 import MIRROR, NOSE_TIP, NUM_LANDMARKS
from emotion.graph import LINKS, FaceGraph, bfs_rank, part_edges


@pytest.fixture(scope="module")
def graph() -> FaceGraph:
    return FaceGraph()


def _components(n: int, edges: list[tuple[int, int]]) -> int:
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in edges:
        parent[find(i)] = find(j)
    return len({find(i) for i in range(n)})


def test_edges_are_outlines_plus_links_and_connect_the_face(graph):
    assert len(part_edges()) == 63
    assert len(graph.edges) == 63 + len(LINKS)
    assert _components(NUM_LANDMARKS, part_edges()) == 9          # the nine parts alone
    assert _components(NUM_LANDMARKS, graph.edges) == 1           # one graph with the links


def test_graph_is_left_right_symmetric(graph):
    edges = {frozenset(e) for e in graph.edges}
    assert {frozenset((int(MIRROR[i]), int(MIRROR[j]))) for i, j in graph.edges} == edges


def test_adjacency_shape_symmetry_and_normalisation(graph):
    A = graph.A
    assert A.shape == (3, NUM_LANDMARKS, NUM_LANDMARKS) and A.dtype == np.float32
    assert np.array_equal(A[0] > 0, np.eye(NUM_LANDMARKS, dtype=bool))
    assert np.array_equal(A[1] > 0, (A[2] > 0).T)                # outward is inward reversed
    union = (A > 0).any(axis=0)
    assert np.array_equal(union, union.T)                        # the whole neighbourhood is undirected
    assert not ((A[1] > 0) & (A[2] > 0)).any()                   # no edge in both directions
    np.testing.assert_allclose(A.sum(axis=(0, 2)), 1.0, rtol=1e-6)


def test_partition_is_balanced(graph):
    counts = (graph.A > 0).sum(axis=(1, 2))
    total = counts.sum()
    assert counts.tolist() == [68, len(graph.edges), len(graph.edges)]
    assert all(0 < c < 0.5 * total for c in counts)


def test_inward_edges_point_towards_the_nose_tip(graph):
    rank = bfs_rank(NUM_LANDMARKS, graph.edges, NOSE_TIP)
    assert graph.center == NOSE_TIP and rank[NOSE_TIP] == 0
    assert all(rank[j] < rank[i] for i, j in graph.inward)
    assert graph.outward == [(j, i) for i, j in graph.inward]
    assert not graph.A[1, NOSE_TIP].any()                        # nothing is nearer the centre than the centre


def test_bad_graphs_are_refused():
    with pytest.raises(ValueError, match="not connected"):
        FaceGraph(edges=part_edges())
    with pytest.raises(ValueError, match="duplicate"):
        FaceGraph(edges=part_edges() + list(LINKS) + [(1, 0)])
    with pytest.raises(ValueError, match="invalid edges"):
        FaceGraph(edges=part_edges() + [(3, 3)])
