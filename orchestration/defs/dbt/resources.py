"""The ``dbt`` resource: the dbt CLI on ``dbt_project/`` with its own ``profiles.yml``."""

import dagster as dg
from dagster_dbt import DbtCliResource

from .project import DBT_EXECUTABLE, account_dbt_project


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=account_dbt_project, dbt_executable=DBT_EXECUTABLE)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources={"dbt": dbt_resource()})
