def get_var(var_name, prompt, other_vars):
    return {"output": f"computed for {var_name}"}
