"""`python -m bot`: the Kavi command line."""

from bot.cli import main

raise SystemExit(main())
