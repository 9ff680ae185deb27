"""Readable random run names (`bright-fox-42`), as MLflow and W&B users expect."""

import random

_ADJECTIVES = (
    "able amber bold brave bright calm clever cosmic crisp dapper eager fancy fast "
    "gentle glad grand happy honest jolly keen kind lively lucky merry mighty neat "
    "noble plucky proud quick quiet rare sharp shy silent smart sunny swift tidy vivid "
    "warm wise witty young zesty"
).split()
_NOUNS = (
    "ant bat bear bee bird boar cat colt crab crow deer dog dove duck eel elk fawn "
    "finch fish fox frog gnu goat hare hawk hen horse jay koala lark lion lynx mole "
    "moth mouse newt owl ox panda perch pig pony ram rat seal shark sheep slug snail "
    "swan tiger toad trout wasp whale wolf worm yak zebra"
).split()


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(1, 999)}"
