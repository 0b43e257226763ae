"""Sweep documents shared by the sweep tests: XOR with 2-2-1 sigmoid units and the squared
error (Owens & Filkin's problem), runs of 5–100 ms."""

XOR_PROBLEM = """
[dataset]
kind = "xor"
standardize = false
[network]
hidden = [2]
activations = ["sigmoid"]
loss = "mse"
output = "sigmoid"
init = "uniform"
[stop]
t_end = 100000.0
target_rms = 0.05
[probe]
stiffness_every = 0
"""


def solver_method(label: str, method: str, **settings) -> str:
    """One [[methods]] table."""
    lines = [f'[[methods]]\nlabel = "{label}"\n[methods.solver]\nmethod = "{method}"']
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"
