def make(config):
    return [{"vars": {"n": i}, "assert": [{"type": "contains", "value": str(i)}]}
            for i in range(config["count"])]
