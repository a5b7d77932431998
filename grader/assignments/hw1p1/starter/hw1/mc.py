"""
Multiple-choice questions: each function returns the letter of your answer, in lowercase,
e.g. return 'a'.
"""


def question_1():
    # TODO
    return None


def question_2():
    # TODO
    return None


def question_3():
    # TODO
    return None


def question_4():
    # TODO
    return None


def question_5():
    # TODO
    return None
