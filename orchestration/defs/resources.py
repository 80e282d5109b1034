"""Resources shared by every asset: where the warehouse lives and how to reach the CRM simulator."""

import dagster as dg


class WarehouseHome(dg.ConfigurableResource):
    """The folder that holds the working DuckDB file, the serving file and run reports."""

    path: str = "warehouse"


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"warehouse": WarehouseHome(path=dg.EnvVar("ACCTWH_HOME").get_value("warehouse") or "warehouse")}
    )
