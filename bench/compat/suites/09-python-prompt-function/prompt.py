def make(context):
    return [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Tell me about " + context["vars"]["topic"]}]
