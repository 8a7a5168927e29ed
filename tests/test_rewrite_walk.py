"""The core pass's Rewriter walks only towards the nodes it may change
(`Rewriter.visit_only_towards_changes`): the same rewrite as LibCST's whole walk, fewer nodes."""
from __future__ import annotations

import pathlib

import pytest

from unfake_async.codemod import FixLevel, analyze_source
from unfake_async.codemod.migrate.rewrite import Rewriter

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def _cases():
    from tests.support.sampling import sampled

    return sampled(p.name for p in FIXTURES.iterdir() if (p / "before.py").exists())


def _fix(case: str, monkeypatch, *, whole_walk: bool):
    from tests.support.fixture_project import fixture_facts
    from tests.support.fixture_settings import fixture_settings

    folder = FIXTURES / case
    before = (folder / "before.py").read_text()
    entered = []
    real_on_visit = Rewriter.on_visit

    def counting_on_visit(self, node):
        entered.append(node)
        return real_on_visit(self, node)

    with monkeypatch.context() as patch:
        patch.setattr(Rewriter, "on_visit", counting_on_visit)
        if whole_walk:
            patch.setattr(Rewriter, "visit_only_towards_changes", lambda self, parents: None)
        result = analyze_source(before, path=f"{case}/before.py", settings=fixture_settings(folder),
                                fix_level=FixLevel.UNSAFE, project=fixture_facts(folder, "before.py", before))
    return result.fixed_source, len(entered)


@pytest.mark.parametrize("case", _cases())
def test_the_restricted_walk_rewrites_as_the_whole_walk(case, monkeypatch):
    restricted, entered = _fix(case, monkeypatch, whole_walk=False)
    whole, entered_whole = _fix(case, monkeypatch, whole_walk=True)
    assert restricted == whole
    assert entered <= entered_whole
    if entered_whole:
        assert entered < entered_whole  # a module has nodes no change lies under (its imports)


def test_a_target_outside_the_parent_map_makes_the_walk_whole():
    import libcst as cst

    from unfake_async.settings import DEFAULT_SETTINGS

    module = cst.parse_module("x = f(1)\n")
    rewriter = Rewriter([], set(), {}, None, DEFAULT_SETTINGS)
    stranger = cst.parse_expression("g()")
    rewriter._builders[stranger] = lambda updated: updated
    rewriter.visit_only_towards_changes({})
    assert all(rewriter.on_visit(node) for node in (module, module.body[0]))


def test_replace_nodes_given_the_parents_walks_down_to_the_edits_only():
    """`ReplaceNodes(edits, parents)` (UFA008's rewrite): the module it makes is the one the
    whole walk makes, a nested edit included, and the nodes no edit lies under are not entered."""
    import libcst as cst

    from unfake_async.codemod.analysis.async_scope import ReplaceNodes
    from unfake_async.codemod.engine.metadata import parent_map

    module = cst.parse_module("import os\n\ndef f():\n    return g(h(1))\n\nx = [1, 2, 3]\n")
    outer = module.body[1].body.body[0].body[0].value  # g(h(1))
    inner = outer.args[0].value  # h(1)
    edits = {outer: lambda node: node.with_changes(func=cst.Name("G")),
             inner: lambda node: node.with_changes(func=cst.Name("H"))}

    class Counting(ReplaceNodes):
        entered = 0

        def on_visit(self, node):
            entered = super().on_visit(node)
            Counting.entered += entered
            return entered

    whole = module.visit(Counting(edits)).code
    entered_whole, Counting.entered = Counting.entered, 0
    restricted = module.visit(Counting(edits, parent_map(module))).code
    assert restricted == whole == "import os\n\ndef f():\n    return G(H(1))\n\nx = [1, 2, 3]\n"
    assert 0 < Counting.entered < entered_whole
