"""The program evaluated offline: no account, no Pulumi CLI, no network.

engine.py runs __main__.py for a stack under Pulumi's mocks and records what it registers; analyzer.py runs
the policy pack through its analyzer entry point; plan.py (`make plan`) reports what a stack creates,
whether it passes the pack, what it costs and how long it takes to deploy. The tests use the same code.
"""
