"""The engine knows nothing of the console: checked by a machine, not by memory."""

import subprocess
import sys


def test_engine_imports_without_textual_or_rich():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('textual', 'rich', 'console'):\n"
        "            raise ImportError('engine imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _engine_imports(lazy: bool) -> dict[str, set[str]]:
    """Module -> engine modules it imports at run time (module level, and inside functions when
    `lazy`); imports only for type checking do not count."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mods = {}
    for f in (root / "engine").rglob("*.py"):
        parts = f.relative_to(root).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph: dict[str, set[str]] = {}
    for name, f in mods.items():
        found: set[str] = set()

        def visit(node: ast.AST, in_func: bool) -> None:
            for ch in ast.iter_child_nodes(node):
                if isinstance(ch, ast.If) and "TYPE_CHECKING" in ast.unparse(ch.test):
                    continue
                fn = in_func or isinstance(ch, ast.FunctionDef | ast.AsyncFunctionDef)
                if isinstance(ch, ast.ImportFrom) and ch.module and (lazy or not fn):
                    for a in ch.names:
                        found.add(f"{ch.module}.{a.name}" if f"{ch.module}.{a.name}" in mods else ch.module)
                elif isinstance(ch, ast.Import) and (lazy or not fn):
                    found.update(a.name for a in ch.names)
                visit(ch, fn)

        visit(ast.parse(f.read_text()), False)
        graph[name] = {d for d in found if d in mods and d != name and not name.startswith(d + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def walk(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return [*path[path.index(w) :], w]
            if w not in state and (found := walk(w)):
                return found
        state[v] = 2
        path.pop()
        return None

    for v in sorted(graph):
        if v not in state and (found := walk(v)):
            return found
    return None


def test_engine_has_no_import_cycle():
    """Issue "One truth": the commands no longer reach back through Site at run time."""
    for lazy in (False, True):
        assert _cycle(_engine_imports(lazy)) is None, _cycle(_engine_imports(lazy))
