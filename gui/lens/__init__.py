"""The stiffness lens: Hessian spectra inside the method's region of absolute stability."""
