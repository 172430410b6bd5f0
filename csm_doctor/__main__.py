"""``python -m csm_doctor`` runs the same CLI as the console script."""

from csm_doctor.cli import main

if __name__ == "__main__":
    main()
