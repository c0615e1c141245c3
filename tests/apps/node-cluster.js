// Node.js HTTP server as deployed on several cores: the cluster module, one
// worker per CPU, each worker accepting itself (SCHED_NONE; the default
// round-robin has the primary accept every connection).  The listener is
// Node's default: server.listen(port) on "::", one dual-stack socket.
//   node node-cluster.js PORT
// Prints "listening WORKERS" once every worker listens; SIGTERM stops all.
'use strict';
const cluster = require('cluster');
const http = require('http');
const os = require('os');

const port = Number(process.argv[2]);
const workers = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
if (!(port > 0 && port < 65536)) {
	console.error('usage: node node-cluster.js PORT');
	process.exit(2);
}
if (cluster.isPrimary) {
	cluster.schedulingPolicy = cluster.SCHED_NONE;
	let up = 0;
	for (let i = 0; i < workers; i++)
		cluster.fork();
	cluster.on('listening', () => {
		if (++up === workers)
			console.log(`listening ${workers}`);
	});
	process.on('SIGTERM', () => {
		cluster.disconnect(() => process.exit(0));
	});
} else {
	http.createServer((req, res) => {
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		res.end('ok\n');
	}).listen(port);
}
