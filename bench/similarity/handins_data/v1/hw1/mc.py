def question_1():
    return 'b'


def question_2():
    return 'a'


def question_3():
    return 'a'


def question_4():
    return 'a'


def question_5():
    return 'c'
