/* placeholder: replaced by the hello branch */
#include <stdio.h>
