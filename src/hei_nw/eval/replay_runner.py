"""``python -m hei_nw.eval.replay_runner``: the seed's entry point of the replay experiment.

The experiment is :mod:`hei_nw.eval.replay`; its command line is :mod:`hei_nw.cli.replay`.
"""

from hei_nw.eval.replay import REPLAY_SCENARIOS, ReplayConfig, run_replay

__all__ = ["REPLAY_SCENARIOS", "ReplayConfig", "run_replay"]

if __name__ == "__main__":  # the CLI lives in hei_nw.cli (imports run one way)
    from hei_nw.cli.replay import main

    raise SystemExit(main())
