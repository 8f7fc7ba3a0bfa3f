"""`python -m genarena` is the command line."""
from genarena.cli import main

raise SystemExit(main())
