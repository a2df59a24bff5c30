"""`python -m gui` starts the cyconv lab (see gui.app)."""
from gui.app import main

raise SystemExit(main())
