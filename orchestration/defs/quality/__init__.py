"""The quality gate: Great Expectations suites (``expectations/``) as blocking asset checks on the marts."""
