# wrk --latency output -> "rate p50_us p99_us requests errors"
function us(v) {
	if (v ~ /us$/) return v + 0
	if (v ~ /ms$/) return v * 1000
	if (v ~ /s$/) return v * 1000000
	return v + 0
}
/^ +50%/ { p50 = us($2) }
/^ +99%/ { p99 = us($2) }
/requests in/ { req = $1 }
/Requests\/sec:/ { rate = $2 }
/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
/Non-2xx/ { err += $NF }
END { printf "%d %d %d %d %d\n", rate, p50, p99, req, err }
