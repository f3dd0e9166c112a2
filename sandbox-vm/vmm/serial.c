/* A 16550A UART on 0x3f8, IRQ 4: the guest kernel's console. Transmission is instantaneous (THR is
 * always empty); received bytes come from an fd read on the event loop. Modelled closely enough
 * for Linux's 8250 driver to detect a 16550A (scratch, loopback and FIFO probes) and to drive it
 * by interrupts. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sandbox-vm/vmm/event_loop.h"
#include "sandbox-vm/vmm/vm.h"

#define SERIAL_PORT 0x3f8
#define SERIAL_PORTS 8

enum { UART_RX_TX = 0, UART_IER, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_BITS 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define RX_SIZE 256
#define TX_BUF 4096

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	int out_fd, in_fd;
	bool in_registered, in_paused;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_ipending; /* THR-empty interrupt pending (cleared by reading IIR or writing THR) */
	int irq_level;
	uint8_t rx[RX_SIZE];
	unsigned rx_head, rx_count;
	char tx[TX_BUF];
	size_t tx_len;
	bool tx_cr; /* a '\r' held back to see whether '\n' follows */
};

static void flush_tx(struct serial *s)
{
	size_t off = 0;
	while (s->out_fd >= 0 && off < s->tx_len) {
		ssize_t n = write(s->out_fd, s->tx + off, s->tx_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* output gone (closed pipe): drop it rather than stall the guest */
		off += (size_t)n;
	}
	s->tx_len = 0;
}

static uint8_t iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_BITS : 0;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Called with the lock held after any state change. */
static void update_irq(struct serial *s)
{
	int level = !(iir(s) & IIR_NO_INT);
	if (level != s->irq_level) {
		s->irq_level = level;
		kvm_irq_line(&s->vm->kvm, VM_SERIAL_IRQ, level);
	}
}

static void transmit(struct serial *s, uint8_t ch)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_count < RX_SIZE)
			s->rx[(s->rx_head + s->rx_count++) % RX_SIZE] = ch;
		return;
	}
	if (s->out_fd < 0)
		return;
	/* The guest's tty turns "\n" into "\r\n"; the host side wants plain lines, so that
	 * `hyrun vm run` output reads like any other command's. A lone '\r' is kept. */
	if (s->tx_cr && ch != '\n') {
		s->tx[s->tx_len++] = '\r';
		if (s->tx_len == TX_BUF)
			flush_tx(s);
	}
	s->tx_cr = ch == '\r';
	if (s->tx_cr)
		return;
	s->tx[s->tx_len++] = (char)ch;
	if (ch == '\n' || s->tx_len == TX_BUF)
		flush_tx(s);
}

static void resume_input(struct serial *s)
{
	if (s->in_registered && s->in_paused && s->rx_count < RX_SIZE) {
		s->in_paused = false;
		event_loop_mod(s->vm->loop, s->in_fd, EPOLLIN, NULL);
	}
}

static void serial_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	uint8_t v = 0;
	switch (off) {
	case UART_RX_TX:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_SIZE;
			s->rx_count--;
			resume_input(s);
		}
		break;
	case UART_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		break;
	case UART_MSR:
		if (s->mcr & MCR_LOOP) /* loopback: modem inputs mirror the outputs */
			v = (uint8_t)(((s->mcr & 0x02) ? MSR_CTS : 0) | ((s->mcr & 0x01) ? MSR_DSR : 0) |
				      ((s->mcr & 0x04) ? MSR_RI : 0) | ((s->mcr & 0x08) ? MSR_DCD : 0));
		else
			v = MSR_DCD | MSR_DSR | MSR_CTS;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	data[0] = v;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = data[0];
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX_TX:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else {
			transmit(s, v);
			s->thr_ipending = true; /* sent at once: THR is empty again */
		}
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling the THR interrupt while THR is empty raises it (the driver's TXEN test). */
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thr_ipending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		s->fcr = v & (FCR_FIFO_ENABLE | 0xc0);
		if (v & FCR_CLEAR_RCVR) {
			s->rx_count = 0;
			resume_input(s);
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = {.read = serial_read, .write = serial_write};

static void serial_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	uint8_t buf[RX_SIZE];
	size_t room = RX_SIZE - s->rx_count;
	ssize_t n = room ? read(s->in_fd, buf, room) : 0;
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			s->rx[(s->rx_head + s->rx_count++) % RX_SIZE] = buf[i];
	} else if (n == 0 && room) {
		event_loop_del(s->vm->loop, s->in_fd); /* end of input */
		s->in_registered = false;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		event_loop_del(s->vm->loop, s->in_fd);
		s->in_registered = false;
	}
	if (s->in_registered && s->rx_count == RX_SIZE) {
		s->in_paused = true; /* until the guest drains the buffer */
		event_loop_mod(s->vm->loop, s->in_fd, 0, NULL);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_create(struct vm *vm, int out_fd, int in_fd, struct hy_error *err)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return hy_error_set(err, ENOMEM, "out of memory for the serial port");
	s->vm = vm;
	s->out_fd = out_fd;
	s->in_fd = in_fd;
	pthread_mutex_init(&s->lock, NULL);
	int rc = bus_register(&vm->pio, SERIAL_PORT, SERIAL_PORTS, &serial_ops, s, "serial", err);
	if (rc == 0 && in_fd >= 0 && vm->loop) {
		rc = event_loop_add(vm->loop, in_fd, EPOLLIN, serial_input, s, err);
		s->in_registered = rc == 0;
		if (rc == -EPERM) { /* a regular file or /dev/null: nothing will ever arrive */
			hy_error_clear(err);
			rc = 0;
		}
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	vm->serial = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	flush_tx(s);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->in_fd >= 0)
		close(s->in_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
