"""`python -m gui` starts the cyconv lab (see gui.app), after the same library check as `cyconv-lab`."""
from gui.launcher import main

raise SystemExit(main())
