"""One module per mart, each with ``build(config) -> MartSuite``; expectations.registry maps mart names to them."""
