"""What opening a stack reads of stackctl.yaml (stackctl.roles_outline): kept only for the file
it was validated from, and read back as input."""

from __future__ import annotations

import json

import pytest

from stackctl import roles_outline
from stackctl.errors import ConfigError
from stackctl.project import Project

ROLES = "database: db\nproduction: {file: deploy/prod.yaml, standalone: true}\nenvironments: {staging: production}\n"


def _project(tmp_path, text=ROLES) -> Project:
    (tmp_path / "stackctl.yaml").write_text(text)
    return Project(root=tmp_path)


def test_the_outline_is_validated_once_then_read_back_while_the_file_is_the_same(tmp_path):
    project = _project(tmp_path)
    outline, declared = roles_outline.read(project)
    assert declared is not None  # validated by this call
    assert outline == roles_outline.Outline({"staging": "production"}, "deploy/prod.yaml", True)
    again, declared = roles_outline.read(project)
    assert again == outline and declared is None  # read back, not validated again


def test_a_changed_file_is_validated_again_and_an_invalid_one_refused(tmp_path):
    project = _project(tmp_path)
    roles_outline.read(project)
    (tmp_path / "stackctl.yaml").write_text(ROLES + "environments: {staging: lax}\n")
    with pytest.raises(ConfigError):
        roles_outline.read(project)


@pytest.mark.parametrize("tampered", [{"environments": {"staging": "anything"}}, {"production_file": ""},
                                      {"environments": {"Bad Name": "production"}}, {"standalone": "yes"}])
def test_a_kept_outline_of_the_wrong_shape_is_not_used(tmp_path, tampered):
    project = _project(tmp_path)
    roles_outline.read(project)
    kept = tmp_path / ".stackctl" / roles_outline.FILE
    kept.write_text(json.dumps({**json.loads(kept.read_text()), **tampered}))
    outline, declared = roles_outline.read(project)
    assert declared is not None and outline.environments == {"staging": "production"}


def test_no_roles_file_is_no_outline(tmp_path):
    assert roles_outline.read(Project(root=tmp_path)) == (None, None)
