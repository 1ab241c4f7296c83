/* Log tags: every log line above debug starts with a unique "SECnnnnn: " tag (t/log_tags.t keeps them
 * unique). Ranges: 100xx core/config, 101xx vars/hello, 102xx policy, 103xx revocation, 104xx CRL,
 * 105xx OCSP, 106xx cache, 107xx status. */
#ifndef SECURE_LOG_H
#define SECURE_LOG_H

#define SECTAG(n) "SEC" #n ": "

#endif /* SECURE_LOG_H */
