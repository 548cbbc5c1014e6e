"""`make verify STACK=<stack>`: prove a deployed stack works end to end (checks.py), and what its teardown leaves
(teardown.py). Run with an admin's AWS credentials; it writes nothing outside a throwaway pod and the team's prefix,
and cleans both up."""
