"""The console script's entry point (`autodiff`) and `python -m autodiff`:
the process itself is frontends/console_script.py."""


def main() -> None:
    from autodiff.frontends.console_script import main as console_script

    console_script()


if __name__ == "__main__":
    main()
