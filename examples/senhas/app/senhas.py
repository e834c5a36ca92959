#!/usr/bin/env python3
"""senhas: prints strong random passwords ("senha" is Portuguese for password)."""
import argparse
import secrets
import string

ALPHABET = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"


def senha(length: int) -> str:
    # Keep drawing until every class is present: letters, digits and symbols.
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if (any(c.islower() for c in candidate) and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate) and any(not c.isalnum() for c in candidate)):
            return candidate


def main() -> None:
    parser = argparse.ArgumentParser(description="generate strong passwords")
    parser.add_argument("-n", "--count", type=int, default=1, help="how many passwords")
    parser.add_argument("-l", "--length", type=int, default=20, help="characters per password")
    args = parser.parse_args()
    if args.length < 8:
        parser.error("passwords shorter than 8 characters are not strong")
    for _ in range(args.count):
        print(senha(args.length))


if __name__ == "__main__":
    main()
