#!/usr/bin/env node
import { runProcess } from '../dist/cli/cli.js';

process.exitCode = await runProcess(process.argv);
