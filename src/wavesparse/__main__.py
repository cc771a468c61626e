"""``python -m wavesparse`` runs the command line."""

from wavesparse.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
