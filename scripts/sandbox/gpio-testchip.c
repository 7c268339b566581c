// SPDX-License-Identifier: GPL-2.0
/*
 * gpio-testchip: a GPIO chip with nothing behind it, for scripts/sandbox-test.sh.
 *
 * Debian's amd64 kernel has neither gpio-sim nor gpio-mockup, so the virtual
 * machine gets this one: 28 lines named like a Raspberry Pi's header
 * (GPIO0 … GPIO27, the names periph's gpioioctl driver looks up), each
 * remembering what it was last set to. The kernel's own GPIO debugfs file
 * (/sys/kernel/debug/gpio) shows every requested line, its consumer and its
 * level, which is how the test sees the daemon's lamp.
 */
#include <linux/gpio/driver.h>
#include <linux/module.h>

#define NLINES 28

static unsigned long levels, outputs;
static DEFINE_SPINLOCK(lock);
static const char *names[NLINES];
static char namebuf[NLINES][8];

static int tc_get_direction(struct gpio_chip *gc, unsigned int off)
{
	return test_bit(off, &outputs) ? GPIO_LINE_DIRECTION_OUT : GPIO_LINE_DIRECTION_IN;
}

static int tc_get(struct gpio_chip *gc, unsigned int off)
{
	return test_bit(off, &levels);
}

static void tc_set(struct gpio_chip *gc, unsigned int off, int v)
{
	unsigned long flags;

	spin_lock_irqsave(&lock, flags);
	if (v)
		__set_bit(off, &levels);
	else
		__clear_bit(off, &levels);
	spin_unlock_irqrestore(&lock, flags);
}

static int tc_direction_input(struct gpio_chip *gc, unsigned int off)
{
	clear_bit(off, &outputs);
	return 0;
}

static int tc_direction_output(struct gpio_chip *gc, unsigned int off, int v)
{
	tc_set(gc, off, v);
	set_bit(off, &outputs);
	return 0;
}

static struct gpio_chip chip = {
	.label = "gpio-testchip",
	.owner = THIS_MODULE,
	.base = -1,
	.ngpio = NLINES,
	.get_direction = tc_get_direction,
	.get = tc_get,
	.set = tc_set,
	.direction_input = tc_direction_input,
	.direction_output = tc_direction_output,
	.can_sleep = false,
};

static int __init tc_init(void)
{
	int i;

	for (i = 0; i < NLINES; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "GPIO%d", i);
		names[i] = namebuf[i];
	}
	chip.names = names;
	return gpiochip_add_data(&chip, NULL);
}

static void __exit tc_exit(void)
{
	gpiochip_remove(&chip);
}

module_init(tc_init);
module_exit(tc_exit);
MODULE_DESCRIPTION("A GPIO chip with nothing behind it, for gatescreen's sandbox test");
MODULE_LICENSE("GPL");
