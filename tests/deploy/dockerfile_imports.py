"""Which of this repository's Python files each Dockerfile stage runs, and whether they are there.

The check behind tests/deploy/test_dockerfile_imports.py: a stage that runs ``python -m MODULE``
(in a ``RUN``, ``CMD`` or ``ENTRYPOINT``), ``python -c CODE``, or imports a module some other way
(Serve's ``import_path``, given by the caller) needs that module's file, the ``__init__.py`` of each
package above it, and the same for everything those files import from the repository's packages,
transitively. The Dockerfile is read instruction by instruction (``FROM``, ``WORKDIR``, ``COPY`` /
``ADD`` from the build context, with .dockerignore applied), so the stage's files are known where
each command runs, and every needed file that is not at ``<WORKDIR>/<its repository path>`` is a
problem. Imports under ``if TYPE_CHECKING:`` are skipped (never run); imports inside functions count
(a module's ``main`` runs them). Standard library and installed packages are not this check's
concern: only the repository's own packages (top-level folders with an ``__init__.py``).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    name: str
    line: int
    workdir: PurePosixPath = field(default_factory=lambda: PurePosixPath("/"))
    files: set[PurePosixPath] = field(default_factory=set)


@dataclass(frozen=True)
class Entry:
    """A module a stage runs: where, and the working directory Python starts in (sys.path[0])."""

    stage: str
    line: int
    what: str
    modules: tuple[str, ...]
    workdir: PurePosixPath
    files: frozenset[PurePosixPath]


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comment lines dropped."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(pending).strip()
        pending = []
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


class DockerIgnore:
    """.dockerignore as Docker reads it: patterns in order, the last one that matches a path or one
    of its parent folders decides, ``!`` re-includes; ``**`` spans folders."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = line[1:].strip() if include else line
            pattern = pattern.strip("/")
            if pattern:
                self.rules.append((include, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern: str) -> str:
        parts = []
        for piece in re.split(r"(\*\*/?)", pattern):
            if piece.startswith("**"):
                parts.append(".*" if piece == "**" else "(?:.*/)?")
            else:
                parts.append(fnmatch.translate(piece)[4:-3].replace(".*", "[^/]*"))
        return "^" + "".join(parts) + "$"

    def excluded(self, path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for include, regex in self.rules:
            if any(regex.match(prefix) for prefix in prefixes):
                result = not include
        return result


def _copy_args(args: str) -> tuple[list[str], list[str]]:
    """(flags, paths) of a COPY/ADD, shell or JSON form."""
    words = shlex.split(args)
    flags = [w for w in words if w.startswith("--")]
    rest = " ".join(w for w in words if not w.startswith("--"))
    if rest.startswith("["):
        return flags, [str(p) for p in json.loads(rest)]
    return flags, [w for w in words if not w.startswith("--")]


def _context_files(repo: Path, source: str, ignore: DockerIgnore) -> Iterator[tuple[str, str]]:
    """(repository path, path relative to what the COPY names) of each file a COPY source brings."""
    source = source.strip("/") or "."
    matches = sorted(repo.glob(source)) if any(c in source for c in "*?[") else [repo / source]
    for match in matches:
        if match.is_dir():
            for path in sorted(p for p in match.rglob("*") if p.is_file()):
                rel = path.relative_to(repo).as_posix()
                if not ignore.excluded(rel):
                    yield rel, path.relative_to(match).as_posix()
        elif match.is_file():
            rel = match.relative_to(repo).as_posix()
            if not ignore.excluded(rel):
                yield rel, match.name


def _python_commands(words: list[str]) -> Iterator[tuple[str, str]]:
    """('-m', module) and ('-c', code) of each python invocation in a list of words."""
    for i, word in enumerate(words):
        if not re.fullmatch(r"(?:\S*/)?python(?:3(?:\.\d+)?)?", word):
            continue
        j = i + 1
        while j < len(words) and words[j].startswith("-") and words[j] not in ("-m", "-c"):
            j += 1
        if j + 1 < len(words) and words[j] in ("-m", "-c"):
            yield words[j], words[j + 1]


def _shell_words(command: str) -> list[str]:
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return command.split()


def _exec_words(args: str) -> list[str]:
    """Words of a CMD/ENTRYPOINT/RUN: the JSON (exec) form as is, the shell form split."""
    if args.startswith("["):
        try:
            words = json.loads(args)
        except json.JSONDecodeError:
            return args.split()
        return [str(w) for w in words]
    return _shell_words(args)


def stage_entries(
    dockerfile: str, repo: Path, final_imports: Iterable[str] = (), dockerignore: str | None = None
) -> list[Entry]:
    """Every place a stage runs repository code, with the stage's files at that point.
    ``final_imports``: modules the last stage's image also imports (Serve's import paths);
    ``dockerignore``: its text (default: the repository's .dockerignore)."""
    if dockerignore is None:
        ignore_file = repo / ".dockerignore"
        dockerignore = ignore_file.read_text() if ignore_file.is_file() else ""
    ignore = DockerIgnore(dockerignore)
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    entries: list[Entry] = []
    cmd: tuple[int, list[str]] | None = None
    entrypoint: list[str] = []

    def add(line: int, what: str, modules: Iterable[str]) -> None:
        assert stage is not None
        found = tuple(modules)
        if found:
            entries.append(Entry(stage.name, line, what, found, stage.workdir, frozenset(stage.files)))

    def close_stage(line: int) -> None:
        if stage is not None and cmd is not None:
            words = entrypoint + cmd[1]
            add(cmd[0], "CMD " + " ".join(cmd[1]), _modules_of_words(words))

    for ins in instructions(dockerfile):
        if ins.keyword == "FROM":
            close_stage(ins.line)
            words = ins.args.split()
            base = next(w for w in words if not w.startswith("--"))
            name = words[words.index("AS") + 1] if "AS" in words else (words[-1] if "as" in words else "")
            name = name or f"#{len(stages)} (unnamed)"
            parent = stages.get(base)
            stage = Stage(name, ins.line)
            if parent is not None:
                stage.workdir, stage.files = parent.workdir, set(parent.files)
            stages[name] = stage
            cmd, entrypoint = None, []
            continue
        if stage is None:
            continue  # ARG before the first FROM
        if ins.keyword == "WORKDIR":
            stage.workdir = stage.workdir / ins.args.strip()
        elif ins.keyword in ("COPY", "ADD"):
            flags, paths = _copy_args(ins.args)
            if any(f.startswith("--from") for f in flags) or len(paths) < 2:
                continue
            *sources, dest_text = paths
            dest = stage.workdir / dest_text
            into_dir = dest_text.endswith("/") or len(sources) > 1
            for source in sources:
                for _rel, inner in _context_files(repo, source, ignore):
                    is_dir = (repo / source.strip("/")).is_dir() or any(c in source for c in "*?[")
                    if is_dir or into_dir:
                        stage.files.add(dest / inner)
                    else:
                        stage.files.add(dest)
        elif ins.keyword == "RUN":
            add(ins.line, "RUN " + ins.args[:80], _modules_of_words(_exec_words(ins.args)))
        elif ins.keyword == "CMD":
            cmd = (ins.line, _exec_words(ins.args))
        elif ins.keyword == "ENTRYPOINT":
            entrypoint = _exec_words(ins.args)
        elif ins.keyword == "HEALTHCHECK":
            rest = ins.args
            if "CMD" in rest:
                words = _exec_words(rest[rest.index("CMD") + 3 :].strip())
                add(ins.line, "HEALTHCHECK", _modules_of_words(words))
    close_stage(0)
    if stage is not None and final_imports:
        add(0, "imported by Serve (import_path)", final_imports)
    return entries


def _modules_of_words(words: list[str]) -> list[str]:
    modules: list[str] = []
    for flag, value in _python_commands(words):
        if flag == "-m":
            modules.append(value)
        else:
            try:
                tree = ast.parse(value)
            except SyntaxError:
                continue
            modules += [f"-c:{name}" for name in _imports_in(tree, package="")]
    return modules


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_in(tree: ast.AST, package: str) -> Iterator[str]:
    """Absolute names of what the code imports: ``a.b`` and, for ``from a.b import c``, ``a.b.c``
    (a submodule or not: the caller keeps those that are files)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            if base:
                yield base
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}" if base else alias.name
        stack.extend(ast.iter_child_nodes(node))


class RepoModules:
    """The repository's own packages and the files their modules need, transitively."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.packages = {p.parent.name for p in repo.glob("*/__init__.py")}

    def file_of(self, module: str) -> str | None:
        base = self.repo.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.relative_to(self.repo).as_posix()
        return None

    def needed(self, modules: Iterable[str], run_as_main: bool) -> dict[str, str]:
        """{repository file: why} for these modules (``python -m`` runs a package's __main__)."""
        need: dict[str, str] = {}
        todo: list[tuple[str, str]] = []
        for module in modules:
            name = module.removeprefix("-c:")
            todo.append((name, "run"))
            if run_as_main and not module.startswith("-c:") and self.file_of(f"{name}.__main__"):
                todo.append((f"{name}.__main__", f"python -m {name}"))
        while todo:
            module, why = todo.pop()
            if module.split(".")[0] not in self.packages:
                continue
            parts = module.split(".")
            while len(parts) > 1 and self.file_of(".".join(parts)) is None:
                parts.pop()  # `from a.b import name`: a name in a.b, not a submodule
            module = ".".join(parts)
            for depth in range(1, len(parts) + 1):  # each package above it runs its __init__
                name = ".".join(parts[:depth])
                rel = self.file_of(name)
                if rel is None or rel in need:
                    continue
                need[rel] = why if depth == len(parts) else f"package of {module}, {why}"
                package = name if rel.endswith("__init__.py") else ".".join(parts[: depth - 1])
                tree = ast.parse((self.repo / rel).read_text(), filename=rel)
                todo += [(imported, f"imported by {rel}") for imported in _imports_in(tree, package)]
        return need


def missing_files(
    dockerfile: str, repo: Path, final_imports: Iterable[str] = (), dockerignore: str | None = None
) -> list[str]:
    """Every repository file a stage needs where it runs code and has not copied, as one line each;
    empty when the Dockerfile is complete."""
    modules = RepoModules(repo)
    problems: list[str] = []
    for entry in stage_entries(dockerfile, repo, final_imports, dockerignore):
        run_as_main = not entry.what.startswith("imported by")
        for rel, why in sorted(modules.needed(entry.modules, run_as_main).items()):
            if entry.workdir / rel not in entry.files:
                problems.append(
                    f"stage {entry.stage!r}, line {entry.line} ({entry.what.strip()}): needs {rel} "
                    f"({why}) at {entry.workdir / rel}, which is not copied there"
                )
    return problems
