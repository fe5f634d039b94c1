"""The Dockerfile read as data, for the tests that hold docker-compose.yml and the image's
conditions to it (no Docker engine needed).

Only what those tests need is read: ``ENV``, the last ``WORKDIR`` and ``USER``, the ``COPY``
sources, and from ``RUN`` the ``useradd`` of the image's user (its home) and the
``install -d -o USER ...`` folders it owns.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    home: str


@dataclass(frozen=True)
class Image:
    env: dict[str, str]
    workdir: str
    """The last WORKDIR: where a container of the image starts."""
    user: str
    """The last USER: whom every process of a container runs as."""
    copied: tuple[str, ...]
    """Every COPY source, as written."""
    commands: tuple[tuple[str, ...], ...]
    """Every shell command of every RUN (split at ``&&``), as words."""

    def account(self) -> Account:
        """The ``useradd`` of the image's USER."""
        for words in self.commands:
            if words and words[0] == "useradd" and words[-1] == self.user:
                options = _options(words[1:-1])
                uid = options.get("--uid", options.get("-u"))
                home = options.get("--home-dir", options.get("-d"))
                assert uid, f"the useradd of {self.user} gives no fixed --uid"
                assert home, f"the useradd of {self.user} gives no --home-dir"
                return Account(self.user, int(uid), home)
        raise AssertionError(f"the Dockerfile never creates its USER {self.user!r} with useradd")

    def owned_folders(self) -> frozenset[str]:
        """The folders ``install -d -o <USER>`` creates for the image's user."""
        folders: set[str] = set()
        for words in self.commands:
            if words[:2] == ("install", "-d"):
                options, paths = _split_install(words[2:])
                if options.get("-o", options.get("--owner")) == self.user:
                    folders.update(paths)
        return frozenset(folders)

    def writable(self, path: str) -> bool:
        """Whether the image's user can write in ``path`` (one of its folders or inside one)."""
        target = PurePosixPath(path)
        return any(
            target == PurePosixPath(folder) or PurePosixPath(folder) in target.parents
            for folder in self.owned_folders()
        )

    def pip_requirements(self) -> tuple[str, ...]:
        """What ``pip install`` installs besides options (``.`` is the project itself)."""
        installed: list[str] = []
        for words in self.commands:
            if words[:2] == ("pip", "install"):
                skip = False
                for word in words[2:]:
                    if skip:
                        skip = False
                    elif word in ("-c", "-r", "--constraint", "--requirement"):
                        skip = True
                    elif not word.startswith("-"):
                        installed.append(word)
        return tuple(installed)


def read_image(path: Path = DOCKERFILE) -> Image:
    env: dict[str, str] = {}
    workdir = "/"
    user = "root"
    copied: list[str] = []
    commands: list[tuple[str, ...]] = []
    for instruction, argument in _instructions(path.read_text()):
        if instruction == "ENV":
            for word in shlex.split(argument):
                name, _, value = word.partition("=")
                env[name] = value
        elif instruction == "WORKDIR":
            workdir = str(PurePosixPath(workdir) / argument.strip())
        elif instruction == "USER":
            user = argument.strip()
        elif instruction == "COPY":
            words = [w for w in shlex.split(argument) if not w.startswith("--")]
            copied.extend(words[:-1])
        elif instruction == "RUN":
            commands.extend(tuple(shlex.split(part)) for part in argument.split("&&"))
    return Image(env, workdir, user, tuple(copied), tuple(commands))


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) per logical line: continuations joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    result = []
    for line in logical:
        instruction, _, argument = line.partition(" ")
        result.append((instruction.upper(), argument.strip()))
    return result


def _options(words: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--name value`` pairs; flags without a value map to ``""``."""
    options: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            options[word] = words[i + 1]
            i += 2
        else:
            options[word] = ""
            i += 1
    return options


_INSTALL_VALUED = re.compile(r"^-(o|g|m)$|^--(owner|group|mode)$")


def _split_install(words: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    paths: list[str] = []
    i = 0
    while i < len(words):
        if _INSTALL_VALUED.match(words[i]):
            options[words[i]] = words[i + 1]
            i += 2
        elif words[i].startswith("-"):
            i += 1
        else:
            paths.append(words[i])
            i += 1
    return options, paths
