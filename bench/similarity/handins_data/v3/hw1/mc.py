def question_1():
    answer = 'b'
    return answer


def question_2():
    answer = 'a'
    return answer


def question_3():
    answer = 'a'
    return answer


def question_4():
    answer = 'a'
    return answer


def question_5():
    answer = 'c'
    return answer
