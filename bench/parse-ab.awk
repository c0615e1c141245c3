# ab output -> "rate p50_us p99_us requests errors" (ab's percentiles are whole ms)
/^Requests per second:/ { rate = $4 }
/^Complete requests:/ { req = $3 }
/^Failed requests:/ { err += $3 }
/^Non-2xx responses:/ { err += $3 }
/^ +50% / { p50 = $2 * 1000 }
/^ +99% / { p99 = $2 * 1000 }
END { printf "%d %d %d %d %d\n", rate, p50, p99, req, err }
