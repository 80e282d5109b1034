"""dbt: the ``dbt_project/`` models as Dagster assets, their jobs and the dbt CLI resource.

``project.py`` locates the project and keeps its manifest current, ``translator.py`` maps dbt nodes to asset
specs (sources -> the ingestion assets' keys, models grouped by layer), ``assets.py`` runs ``dbt build``,
``metadata.py`` reads row counts and column schemas after the build, ``resources.py`` registers ``dbt``,
``jobs.py`` defines ``account_marts_job`` (the nightly refresh is in ``operations/``).
"""
