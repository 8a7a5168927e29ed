"""The engine's MetadataWrapper answers exactly as LibCST's does, with fewer walks of the tree."""
from __future__ import annotations

import pathlib

import libcst as cst
import pytest
from libcst._metadata_dependent import LazyValue
from libcst.metadata import (
    ExpressionContextProvider,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)
from libcst.metadata import MetadataWrapper as LibCSTMetadataWrapper

from unfake_async.codemod.engine.metadata import MetadataWrapper, parent_map

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
SOURCES = sorted(FIXTURES.rglob("*.py"))
PROVIDERS = (ParentNodeProvider, ExpressionContextProvider, ScopeProvider, QualifiedNameProvider, PositionProvider)


def _plain(provider, value):
    """A metadata value compared by content: LibCST computes qualified names lazily, and a scope
    is compared by what it holds."""
    if isinstance(value, LazyValue):
        value = value()
    if provider is ScopeProvider and value is not None:
        return (type(value).__name__, sorted((a.name, type(a.node).__name__) for a in value.assignments))
    return value


def test_there_are_sources_to_compare():
    assert len(SOURCES) >= 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_mapping_is_libcsts(path):
    module = cst.parse_module(path.read_text())
    expected = LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve_many(PROVIDERS)
    ours = MetadataWrapper(module, unsafe_skip_copy=True).resolve_many(PROVIDERS)
    # ScopeProvider also keys the nodes it parses out of string annotations, new on each run.
    in_module = set(expected[ParentNodeProvider]) | {module}
    for provider in PROVIDERS:
        # Same nodes in the same order: passes iterate the parent map to find nodes.
        mine = [node for node in ours[provider] if node in in_module]
        assert mine == [node for node in expected[provider] if node in in_module], provider.__name__
        for node in mine:
            assert _plain(provider, ours[provider][node]) == _plain(provider, expected[provider][node]), \
                provider.__name__
    assert all(ours[ParentNodeProvider][node] is parent for node, parent in expected[ParentNodeProvider].items())


def test_parents_one_at_a_time_match_parents_resolved_together():
    module = cst.parse_module(SOURCES[0].read_text())
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    alone = dict(wrapper.resolve(ParentNodeProvider))
    assert alone == parent_map(module)
    assert wrapper.resolve(QualifiedNameProvider) is wrapper.resolve(QualifiedNameProvider)


def test_a_deep_module_does_not_hit_the_recursion_limit_in_the_parent_walk():
    depth = 400  # LibCST's own parser and walks take this; the parent walk must not be the limit
    source = "x = " + "(" * depth + "1" + ")" * depth + "\n"
    module = cst.parse_module(source)
    parents = parent_map(module)
    assert parents == dict(LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider))


def test_a_visitor_with_its_own_visit_methods_still_walks_the_tree():
    class CountNames(cst.BatchableCSTVisitor):
        METADATA_DEPENDENCIES = (ParentNodeProvider,)

        def __init__(self):
            super().__init__()
            self.parents_of_names = []

        def visit_Name(self, node):
            self.parents_of_names.append(type(self.get_metadata(ParentNodeProvider, node)).__name__)

    visitor = CountNames()
    MetadataWrapper(cst.parse_module("a = b(c)\n"), unsafe_skip_copy=True).visit_batched([visitor])
    assert visitor.parents_of_names == ["AssignTarget", "Call", "Arg"]


def test_qualified_names_asked_alone_and_of_a_node_outside_the_module():
    module = cst.parse_module("import os.path as p\n\ndef f():\n    return p.join('a')\n")
    names = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    expected = LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    call = next(node for node in expected if isinstance(node, cst.Call))
    assert {q.name for q in names[call.func]()} == {q.name for q in expected[call.func]()} == {"os.path.join"}
    assert names.get(cst.Name("p"), "outside") == "outside"
    assert len(names) == len(expected)


def test_children_read_off_the_fields_are_libcsts_children():
    from unfake_async.codemod.engine.metadata import children_of

    kinds, seen = set(), 0
    for path in SOURCES:
        stack = [cst.parse_module(path.read_text())]
        while stack:
            node = stack.pop()
            expected = list(node.children)
            assert children_of(node) == expected, (path, type(node).__name__)
            stack.extend(expected)
            kinds.add(type(node))
            seen += 1
    assert seen > 50_000 and len(kinds) > 80  # the fixtures hold most kinds of node


@pytest.mark.parametrize("first", ['f"{x}"', 'f"{x:>{width}}"', 'f"{x!r}"'])
def test_children_of_a_field_libcst_visits_only_when_set(first, monkeypatch):
    # FormattedStringExpression visits `format_spec` only when there is one: whichever node
    # a class's order is learned from, every other node of the class still gets its children.
    from unfake_async.codemod.engine import metadata

    monkeypatch.setattr(metadata, "_FIELD_ORDER", {})
    module = cst.parse_module(f'{first}\nf"{{x}}"\nf"{{x:>{{width}}}}"\nf"{{x!r:>5}}"\n')
    stack = [module]
    while stack:
        node = stack.pop()
        assert metadata.children_of(node) == list(node.children), type(node).__name__
        stack.extend(node.children)


def test_nodes_of_a_class_are_the_parent_maps_in_its_order():
    from unfake_async.codemod.analysis.async_scope import ModuleView

    checked = 0
    for path in SOURCES[::4]:
        wrapper = MetadataWrapper(cst.parse_module(path.read_text()), unsafe_skip_copy=True)
        parents = wrapper.resolve(ParentNodeProvider)
        view = ModuleView(wrapper)
        for kind in (cst.Call, cst.FunctionDef, cst.ClassDef, cst.Attribute, cst.Assign, cst.Name):
            expected = [node for node in parents if type(node) is kind]
            assert list(view.nodes(kind)) == expected, (path, kind)
            checked += len(expected)
        # A class others derive from is not in the index: the whole map is read for it.
        assert list(view.nodes(cst.BaseExpression)) == [n for n in parents if isinstance(n, cst.BaseExpression)]
    assert checked > 1000


class _Recorder(cst.CSTVisitor):
    """Every callback LibCST makes, in order; skips the children of every third `If`."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []
        self.ifs = 0

    def on_visit(self, node):
        self.calls.append(("visit", node))
        if isinstance(node, cst.If):
            self.ifs += 1
            return self.ifs % 3 != 0
        return True

    def on_leave(self, original_node):
        self.calls.append(("leave", original_node))


def test_a_read_only_visitor_sees_what_libcsts_walk_shows_it():
    from unfake_async.codemod.engine.metadata import read_only_walk

    seen = 0
    for path in SOURCES:
        module = cst.parse_module(path.read_text())
        libcst_way, ours = _Recorder(), _Recorder()
        module.visit(libcst_way)
        read_only_walk(module, ours)
        assert ours.calls == libcst_way.calls, path
        seen += len(ours.calls)
    assert seen > 100_000


def test_visitors_with_field_callbacks_and_transformers_take_libcsts_walk():
    from unfake_async.codemod.engine.metadata import _reads_only

    class PerField(cst.CSTVisitor):
        def visit_Call_func(self, node):
            pass

    class OwnAttributeHook(cst.CSTVisitor):
        def on_visit_attribute(self, node, attribute):
            pass

    assert _reads_only(_Recorder())
    assert not _reads_only(PerField()) and not _reads_only(OwnAttributeHook())
    assert not _reads_only(cst.CSTTransformer())


class _FieldRecorder(_Recorder):
    """`_Recorder` that also hears every field LibCST enters and leaves."""

    def on_visit_attribute(self, node, attribute):
        self.calls.append(("field", node, attribute))

    def on_leave_attribute(self, original_node, attribute):
        self.calls.append(("left", original_node, attribute))


class _CallFuncRecorder(_Recorder):
    """A visitor with one per-field callback of its own, the way ScopeProvider has some."""

    def visit_Call_func(self, node):
        self.calls.append(("func", node))

    def leave_Call_args(self, original_node):
        self.calls.append(("args done", original_node))


@pytest.mark.parametrize("recorder", [_Recorder, _FieldRecorder, _CallFuncRecorder])
def test_visits_read_only_make_libcsts_calls_in_libcsts_order(recorder):
    from unfake_async.codemod.engine.metadata import read_only_visits

    seen = 0
    for path in SOURCES:
        module = cst.parse_module(path.read_text())
        libcst_way, ours = recorder(), recorder()
        module.visit(libcst_way)
        with read_only_visits():
            assert module.visit(ours) is module
        assert ours.calls == libcst_way.calls, path
        seen += len(ours.calls)
    assert seen > 100_000


def test_visits_read_only_give_libcsts_scopes_and_matches_and_leave_transformers_alone():
    import libcst.matchers as m

    from unfake_async.codemod.engine.metadata import read_only_visits

    class Upper(cst.CSTTransformer):
        def leave_Name(self, original_node, updated_node):
            return updated_node.with_changes(value=updated_node.value.upper())

    for path in SOURCES:
        module = cst.parse_module(path.read_text())
        expected = LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve_many(PROVIDERS)
        calls = m.findall(module, m.Call(func=m.Attribute()))
        upper = module.visit(Upper()).code
        with read_only_visits():
            ours = LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve_many(PROVIDERS)
            assert m.findall(module, m.Call(func=m.Attribute())) == calls
            assert module.visit(Upper()).code == upper
        for provider in PROVIDERS:
            for node in expected[ParentNodeProvider]:
                assert _plain(provider, ours[provider].get(node)) == _plain(provider, expected[provider].get(node)), \
                    (path, provider.__name__)


def test_visits_read_only_end_with_libcsts_walk_back_even_after_an_error():
    from unfake_async.codemod.engine.metadata import read_only_visits

    libcst_visit = cst.CSTNode.visit
    with pytest.raises(ZeroDivisionError):
        with read_only_visits():
            with read_only_visits():  # re-entered by a nested analysis
                assert cst.CSTNode.visit is not libcst_visit
            assert cst.CSTNode.visit is not libcst_visit  # the inner exit leaves it to the outer one
            1 / 0
    assert cst.CSTNode.visit is libcst_visit


def test_code_ranges_are_positionproviders_for_every_node():
    from unfake_async.codemod.engine.positions import code_ranges

    checked = 0
    for path in SOURCES + [SOURCES[0].with_name("__no_trailing_newline__")]:
        text = path.read_text() if path.exists() else "x = (1,\n  2)\r\nif x:\r\n    pass  # no newline"
        module = cst.parse_module(text)
        expected = LibCSTMetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        ours = code_ranges(module)
        assert list(ours) == list(expected)
        for node, position in expected.items():
            assert ours[node] == position, (path, type(node).__name__)
        checked += len(expected)
    assert checked > 100_000
