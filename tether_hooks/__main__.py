from tether_hooks.main import main

raise SystemExit(main())
