// SPDX-License-Identifier: GPL-2.0
/*
 * The host terminal for an interactive run: raw while the guest shell has
 * it, restored on the way out and when a termination signal arrives.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>

#include "vm/internal.h"

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static struct sigaction prev_sa[3];
static const int term_sigs[3] = {SIGINT, SIGTERM, SIGHUP};

static void restore_tty(void)
{
	if (tio_saved) {
		tcsetattr(0, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void on_term_signal(int sig)
{
	restore_tty();
	for (int i = 0; i < 3; i++) {
		if (term_sigs[i] != sig)
			continue;
		if (prev_sa[i].sa_handler != SIG_DFL && prev_sa[i].sa_handler != SIG_IGN &&
		    !(prev_sa[i].sa_flags & SA_SIGINFO)) {
			prev_sa[i].sa_handler(sig);
			return;
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int kt_vm_tty_raw(bool *raw)
{
	struct termios t;
	struct sigaction sa;

	if (tcgetattr(0, &saved_tio) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_signal;
	sigfillset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(term_sigs[i], &sa, &prev_sa[i]);
	tio_saved = 1;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(0, TCSANOW, &t) < 0)
		return -errno;
	*raw = true;
	return 0;
}

void kt_vm_tty_restore(bool *raw)
{
	if (!*raw)
		return;
	restore_tty();
	for (int i = 0; i < 3; i++)
		sigaction(term_sigs[i], &prev_sa[i], NULL);
	*raw = false;
}

