"""The schema check without Alembic: the shipped head and each script's link read as Alembic reads them."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from mailbot.db.migrate import alembic_config, head_revision, known_revisions
from mailbot.db.revisions import VERSIONS_DIR, migration_scripts, revision_link, shipped_head

SCRIPT = '''"""A migration."""
from typing import Sequence, Union

revision: str = "{revision}"
down_revision: Union[str, Sequence[str], None] = {down}
branch_labels = None
'''


def write_script(folder: Path, name: str, revision: str, down: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(SCRIPT.format(revision=revision, down=down))
    return path


def test_the_shipped_head_is_alembics() -> None:
    assert shipped_head() == head_revision()


def test_every_script_links_to_the_revision_alembic_sees() -> None:
    scripts = {script.revision: script.down_revision for script in
               ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    links = dict(link for link in map(revision_link, migration_scripts(VERSIONS_DIR)) if link)
    assert links == scripts and set(links) == known_revisions()


def test_a_merge_or_a_branch_is_left_to_alembic(tmp_path: Path) -> None:
    write_script(tmp_path, "0001_a", "0001", "None")
    write_script(tmp_path, "0002_b", "0002", '"0001"')
    assert shipped_head(tmp_path) == "0002"
    write_script(tmp_path, "0003_c", "0003", '"0001"')  # a second head
    assert shipped_head(tmp_path) is None
    merge = write_script(tmp_path, "0004_merge", "0004", '("0002", "0003")')
    assert revision_link(merge) is None and shipped_head(tmp_path) is None


def test_a_script_that_does_not_say_it_plainly_is_left_to_alembic(tmp_path: Path) -> None:
    computed = tmp_path / "0001_computed.py"
    computed.write_text('revision = make_id()\ndown_revision = None\n')
    twice = tmp_path / "0002_twice.py"
    twice.write_text('revision = "0002"\nrevision = "0003"\ndown_revision = "0001"\n')
    assert revision_link(computed) is None and revision_link(twice) is None
    assert shipped_head(tmp_path) is None
    assert shipped_head(tmp_path / "missing") is None
